"""TOML configuration files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import igris_core.local_gateway as local_gateway
from igris_core import protocol
from igris_core.local_gateway import LocalGateway, load_config
from igris_core.local_gateway._config.settings import DEFAULT_CONNECTIONS
from tests.local_gateway.helpers import CHAT, chat_body

EXAMPLE = Path(local_gateway.__file__).parent / "_config" / "example-config.toml"


def test_the_shipped_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.keys == {"default": "ig_local_example_key", "ci": "ig_local_ci_key"}
    assert [c.slug for c in config.connections] == [
        "openai-prod",
        "anthropic-prod",
        "google-prod",
        "local-vllm",
        "agent",
    ]
    agent = config.connections[4]
    assert (agent.backend, agent.script_loop, len(agent.script)) == ("script", True, 2)
    assert config.audit_max_entries == 10_000
    vllm = config.connections[3]
    assert (vllm.backend, vllm.upstream_api_key_env) == ("forward", "VLLM_API_KEY")
    assert config.connections[2].embedding_dimensions == 768
    assert [r.name for r in config.deny] == ["no-credentials-in-prompts", "sandbox-team-no-prod"]
    assert config.deny[1].metadata == {"team": "sandbox"}
    assert config.rate_limits[0].per == "user"
    assert config.max_body_bytes == 10 * 1024 * 1024


def test_a_gateway_serves_its_toml_config(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        """
max_body_bytes = 4096
[keys]
team = "ig_local_team"
[[connections]]
slug = "claude"
provider = "anthropic"
[[deny]]
name = "no-ssn"
pattern = '\\d{3}-\\d{2}-\\d{4}'
[[rate_limits]]
name = "per-conn"
limit = 100
window = 1.5
per = "connection"
connection = "claude"
""",
        encoding="utf-8",
    )
    with LocalGateway(load_config(path)) as gw:
        assert gw.api_key == "ig_local_team"
        headers = {"Authorization": "Bearer ig_local_team"}
        url = gw.base_url + protocol.chat_completions_path("claude")
        denied = httpx.post(url, json=chat_body("my ssn is 123-45-6789"), headers=headers)
        assert denied.json()["error"]["code"] == "no-ssn"
        assert httpx.post(url, json=chat_body("x" * 5000), headers=headers).status_code == 413
        assert httpx.post(gw.base_url + CHAT, json=chat_body(), headers=headers).status_code == 404


def test_defaults_without_connections(tmp_path: Path) -> None:
    path = tmp_path / "keys-only.toml"
    path.write_text('[keys]\nme = "ig_local_me"\n', encoding="utf-8")
    config = load_config(path)
    assert config.connections == DEFAULT_CONNECTIONS
    assert [c.provider for c in config.connections] == ["openai", "anthropic", "google", "llamacpp"]
    assert [c.anthropic_style for c in config.connections] == [False, True, False, False]
    assert [c.backend for c in config.connections] == ["echo", "echo", "echo", "llama-cpp"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1", "unknown field"),
        ("[[connections]]\nslug = 'a'\nbackend_name = 'echo'", "unknown field"),
        ("[[connections]]\nprovider = 'openai'", "slug"),
        ("[[deny]]\npattern = '('", "name"),
        ("[[deny]]\nname = 'x'\npattern = '('", "invalid pattern"),
        ("[[rate_limits]]\nname = 'x'\nlimit = 1", "window"),
        ("[keys]\nk = 5", "keys"),
        ("connections = 'a'", "array of tables"),
        ("not toml at all =", "invalid TOML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_config(path)
