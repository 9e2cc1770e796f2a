"""Every fenced ``python`` block of README.md runs, against a local gateway.

The blocks of one ``##`` section share a namespace and run in order, in a fresh interpreter
(tests/docs/run_snippets.py) whose sockets reach the loopback only, with ``IGRIS_BASE_URL`` /
``IGRIS_API_KEY`` naming a :class:`LocalGateway` (whose default connections ``openai-prod``,
``anthropic-prod`` and ``google-prod`` serve the README's models). A block fails on an exception,
on a warning, or past its time limit.

To extend: a block that cannot run here goes into ``SKIPPED`` with the reason, and a block that
needs longer than ``DEFAULT_TIMEOUT`` into ``TIMEOUTS``; both are keyed by the section heading
(without ``## ``) and a marker, a piece of text found in the block's code. A key that matches no
block fails ``test_every_skip_and_timeout_entry_matches_a_block``, so the lists stay true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from igris_core.local_gateway import LocalGateway
from tests.docs.snippets import Block, code_blocks, sections

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUNNER = Path(__file__).with_name("run_snippets.py")

DEFAULT_TIMEOUT = 180.0
"""Seconds one block may run. Generous: the block's imports count (importing ``openai`` plus
``anthropic`` alone took 35 s on a loaded two-core CI machine)."""

SKIPPED: dict[tuple[str, str], str] = {
    ("Errors and retries", "primary.with_fallbacks"): (
        "uses ChatIgris without importing it in its section"
    ),
    ("The local gateway", "with LocalGateway() as gw:"): (
        "uses ChatIgris without importing it in its section"
    ),
}
"""(section, marker) -> why the block is not run here."""

TIMEOUTS: dict[tuple[str, str], float] = {}
"""(section, marker) -> seconds, for blocks that need more than ``DEFAULT_TIMEOUT``."""

PROVIDER_ENV_PREFIXES = ("IGRIS_", "OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_")


def _entry(table: dict[tuple[str, str], object], block: Block) -> tuple[str, str] | None:
    for section, marker in table:
        if section == block.section and marker in block.code:
            return section, marker
    return None


def _timeout(block: Block) -> float:
    key = _entry(TIMEOUTS, block)
    return DEFAULT_TIMEOUT if key is None else TIMEOUTS[key]


PYTHON_SECTIONS = sections(code_blocks(README), "python")


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """One local gateway for the module's sections, reset before each."""
    with LocalGateway() as gw:
        yield gw


def _env(gw: LocalGateway) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROVIDER_ENV_PREFIXES)}
    env.update(IGRIS_BASE_URL=gw.base_url, IGRIS_API_KEY=gw.api_key)
    return env


def _section_limit(section: str) -> float:
    """Seconds for a whole section: its blocks' limits and the interpreter's start."""
    return sum(_timeout(b) for b in PYTHON_SECTIONS[section]) + 30


@pytest.mark.parametrize(
    "section",
    # pytest-timeout's project-wide limit would cut a long section short: give each its own.
    [pytest.param(s, marks=pytest.mark.timeout(_section_limit(s) + 30)) for s in PYTHON_SECTIONS],
)
def test_the_python_blocks_of_a_section_run(
    section: str, gateway: LocalGateway, tmp_path: Path
) -> None:
    blocks = PYTHON_SECTIONS[section]
    skipped = {b.label: SKIPPED[key] for b in blocks if (key := _entry(SKIPPED, b))}
    to_run = [b for b in blocks if b.label not in skipped]
    if not to_run:
        pytest.skip("; ".join(f"{label}: {why}" for label, why in skipped.items()))
    job = {
        "file": str(README),  # tracebacks then quote the README's lines
        "blocks": [
            {"line": b.line, "code": b.code, "timeout": _timeout(b), "label": b.label}
            for b in to_run
        ],
    }
    gateway.reset()
    done = subprocess.run(
        [sys.executable, str(RUNNER)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=_section_limit(section),
        check=False,
        cwd=tmp_path,  # a block that writes a file writes it here, not into the checkout
        env=_env(gateway),
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"


def test_every_skip_and_timeout_entry_matches_a_block() -> None:
    blocks = [b for group in PYTHON_SECTIONS.values() for b in group]
    for table in (SKIPPED, TIMEOUTS):
        for section, marker in table:
            assert any(b.section == section and marker in b.code for b in blocks), (
                f"no python block of '## {section}' contains {marker!r}: remove or fix the entry"
            )


def test_the_readme_has_python_blocks_in_the_quickstarts() -> None:
    for section in (
        "Quickstart: LangChain",
        "Quickstart: LlamaIndex",
        "Quickstart: the core client",
    ):
        assert section in PYTHON_SECTIONS, f"## {section} has no python block"
