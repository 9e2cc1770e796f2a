"""What the notebooks' Markdown and the README state as facts about the code, checked against
the code: each check first finds its sentence (so that a reworded claim is re-checked, not
silently dropped), then asserts the fact."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from igris_core import protocol
from igris_core.local_gateway import GatewayConfig, load_config
from igris_core.local_gateway._config.providers import provider_info
from igris_core.types import LlmProviderInfo
from llama_index_igris import IgrisEmbedding
from tests.docs.snippets import code_blocks

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NOTEBOOKS = ROOT / "notebooks"


def _markdown(notebook: str) -> str:
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _default_slugs() -> list[str]:
    # The claim names the echo connections; the default configuration also has `local`.
    return [c.slug for c in GatewayConfig().connections if c.backend == "echo"]


def _handbook_pages() -> int:
    return len(list((ROOT / "examples" / "data").glob("*.md")))


def _embed_batch_size() -> int:
    model = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small", api_key="ig_x", base_url="http://127.0.0.1:9"
    )
    return int(model.embed_batch_size)


def _anthropic_prod_serves_messages() -> bool:
    [conn] = [c for c in GatewayConfig().connections if c.slug == "anthropic-prod"]
    return provider_info(conn.provider).anthropic_style


CLAIMS: list[tuple[str, str, Callable[[], object], object]] = [
    (
        "01_langchain.ipynb",
        "The local gateway has the connections `openai-prod`, `anthropic-prod` and `google-prod`.",
        _default_slugs,
        ["openai-prod", "anthropic-prod", "google-prod"],
    ),
    ("02_llama_index_rag.ipynb", "twelve short pages", _handbook_pages, 12),
    ("02_llama_index_rag.ipynb", "`embed_batch_size` (100)", _embed_batch_size, 100),
    (
        "04_sdk_adapters.ipynb",
        "it serves the Messages API at `/llm/anthropic-prod/v1/messages`",
        lambda: (_anthropic_prod_serves_messages(), protocol.messages_path("anthropic-prod")),
        (True, "/llm/anthropic-prod/v1/messages"),
    ),
    (
        "05_policies_and_audit.ipynb",
        "no answer, 408, 429, 500, 502, 503, 504 (`max_retries=2` by default)",
        lambda: (sorted(protocol.RETRYABLE_STATUSES), protocol.DEFAULT_MAX_RETRIES),
        ([408, 429, 500, 502, 503, 504], 2),
    ),
    (
        "05_policies_and_audit.ipynb",
        "waiting `Retry-After` (up to 60 s)",
        lambda: protocol.RETRY_AFTER_CAP,
        60.0,
    ),
    (
        "05_policies_and_audit.ipynb",
        "raises `IgrisPolicyDeniedError` (HTTP 403)",
        lambda: protocol.error_class_for_status(403).__name__,
        "IgrisPolicyDeniedError",
    ),
]


@pytest.mark.parametrize(("notebook", "sentence", "fact", "expected"), CLAIMS)
def test_a_notebook_claim_holds(
    notebook: str, sentence: str, fact: Callable[[], object], expected: object
) -> None:
    assert _flat(sentence) in _flat(_markdown(notebook)), f"{notebook} no longer says {sentence!r}"
    assert fact() == expected


def test_the_toml_in_the_policies_notebook_is_a_valid_gateway_config(tmp_path: Path) -> None:
    [toml] = re.findall(r"```toml\n(.*?)```", _markdown("05_policies_and_audit.ipynb"), re.DOTALL)
    path = tmp_path / "gateway.toml"
    path.write_text(toml)
    config = load_config(path)
    assert [r.name for r in config.deny] == ["no-aws-keys"]
    assert [(r.name, r.limit, r.window, r.per) for r in config.rate_limits] == [
        ("per-user", 3, 60, "user")
    ]


def test_every_relative_link_of_the_readme_exists() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)\)", text)
    local = [link for link in links if "://" not in link]
    assert local, "the README links no file: the pattern is broken"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing


def test_the_readme_names_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    paths = re.findall(r"`((?:src|examples|notebooks)/[\w./-]+)`", text)
    assert "src/igris_core/local_gateway/_config/example-config.toml" in paths
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_the_readme_error_table_is_the_protocols_mapping() -> None:
    rows = re.findall(r"^\| (\d{3}) \| `(\w+)`", README.read_text(encoding="utf-8"), re.M)
    assert len(rows) >= 8
    for status, name in rows:
        assert protocol.error_class_for_status(int(status)).__name__ == name


def test_the_provider_fields_the_readme_prints_exist() -> None:
    [block] = [
        b
        for b in code_blocks(README)
        if "llm_providers.list()" in b.code and b.language == "python"
    ]
    printed = re.search(r"print\((p\.\w+(?:, p\.\w+)*)\)", block.code)
    assert printed is not None
    fields = [f.removeprefix("p.") for f in printed[1].split(", ")]
    assert fields and set(fields) <= set(LlmProviderInfo.model_fields)
    assert "supported_endpoints" in fields
