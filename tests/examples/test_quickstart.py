"""``make demo``: examples/quickstart.py runs to the end in a fresh interpreter and prints what
each of its five sections shows, without any network access beyond 127.0.0.1; with
``IGRIS_BASE_URL`` / ``IGRIS_API_KEY`` set it uses that gateway and skips the local-only
sections."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from igris_core.local_gateway import LocalGateway

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.py"

# Runs the demo as `python examples/quickstart.py` would, in an interpreter whose sockets refuse
# every destination but the loopback (so a download by LlamaIndex, NLTK or tiktoken would fail).
LOOPBACK_ONLY = textwrap.dedent(
    """
    import runpy, socket, sys

    LOOPBACK = {"127.0.0.1", "::1", "localhost"}
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self, address, *args):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise SystemExit(f"network access attempted: {address!r}")
        return connect(self, address, *args)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and host not in LOOPBACK:
            raise SystemExit(f"network lookup attempted: {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.getaddrinfo = guarded_getaddrinfo
    sys.argv = [sys.argv[1]]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def _run_demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOOPBACK_ONLY, str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=900,  # a real model on two shared CPU cores: generous
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IGRIS_", "OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_"))
    }


def _audit_rows(output: str) -> list[list[str]]:
    table = output.split("5. The gateway's audit trail", 1)[1]
    return [line.split() for line in table.splitlines() if re.match(r"\s+\d+\s+(chat|embed)", line)]


@pytest.mark.real_model
@pytest.mark.timeout(900)
def test_demo_on_the_local_gateway() -> None:
    out = _run_demo(_clean_env())
    for n in range(1, 6):
        assert f"\n{n}. " in out
    assert "Gateway: an offline local gateway on 127.0.0.1" in out
    assert "@local/smollm2-135m-instruct, a real small model" in out
    # 1. the chain streamed the model's own answer (not the question echoed back)
    answer = out.split("answer:   ", 1)[1].split("\n", 1)[0]
    assert answer.strip() and "Why must company laptops" not in answer
    assert re.search(r"\((\d+) streamed pieces", out) and "(1 streamed pieces" not in out
    # 2. the agent loop: the model's forced call, the tool's result, the model's final answer
    assert "model : calls lookup_handbook({'topic': " in out
    assert re.search(r"\n  tool  : \[\d\d_\w+\.md\]", out)
    agent = out.split("2. LangChain agent", 1)[1].split("\n3. ", 1)[0]
    assert agent.split("  tool  : ", 1)[1].count("\n  model : ") == 1
    assert "audit : 2 model calls with trace ticket-4711, user(s) ['bob@halden.io']" in out
    # 3. RAG: the right page first, with a score, and an answer built from the context
    sources = out.split("retrieved sources:", 1)[1]
    assert re.search(r"\n\s+1\s+03_lost_devices\.md\s+0\.\d{3}\s+Laptops", sources)
    rag_answer = sources.split("  answer:\n", 1)[1].split("\n\n", 1)[0]
    assert rag_answer.strip() and "file_name:" not in rag_answer  # the model's, not the prompt
    # 4. the denial was caught, the fallback answered, the primary alone raised the 429
    assert "denied: IgrisPolicyDeniedError caught: HTTP 403, rule 'no-aws-keys'" in out
    assert re.search(r"\n\s+2\s+@openai-prod/gpt-4o\s+Question number 2", out)
    assert re.search(r"\n\s+3\s+@anthropic-prod/claude-sonnet-4-6\s+Question number 3", out)
    assert "the primary alone: IgrisRateLimitError: HTTP 429, rule 'per-user'" in out
    # 5. the audit table: every call, with its identity, status and tokens
    rows = _audit_rows(out)
    assert len(rows) == 14
    joined = [" ".join(r) for r in rows]
    assert any("alice@halden.io demo-chain app=quickstart" in r for r in joined)
    assert sum("bob@halden.io ticket-4711" in r for r in joined) == 2
    assert any(r[1] == "embeddings" and "index-build job=indexing" in " ".join(r) for r in rows)
    assert any("403 no-aws-keys" in r and "erin@halden.io demo-deny" in r for r in joined)
    assert sum("429 per-user" in r for r in joined) == 3
    assert any(
        "@anthropic-prod/claude-sonnet-4-6 carol@halden.io demo-fallback" in r for r in joined
    )
    assert "14 calls, 4 refused" in out


def test_demo_against_the_gateway_in_the_environment() -> None:
    """With IGRIS_BASE_URL / IGRIS_API_KEY the demo starts no gateway and scripts nothing: here
    the gateway is a local one started by the test, and the demo says so."""
    with LocalGateway() as gw:
        env = {
            **_clean_env(),
            "IGRIS_BASE_URL": gw.base_url,
            "IGRIS_API_KEY": gw.api_key,
            "IGRIS_DEMO_CHAT_MODEL": "@google-prod/gemini-2.0-flash",
        }
        out = _run_demo(env)
        audit, base_url = gw.audit, gw.base_url
    # it is told apart from a real gateway by the header the local gateway sends
    assert f"Gateway: {base_url} (IGRIS_BASE_URL), a local gateway (X-Igris-Gateway: local)" in out
    assert "), real models:" not in out and "decides by itself" not in out
    assert "chat @google-prod/gemini-2.0-flash (IGRIS_DEMO_CHAT_MODEL)" in out
    assert "offline local gateway" not in out
    assert "scripted" not in out
    assert out.count("skipped:") == 2
    assert "IgrisPolicyDeniedError caught" not in out
    assert "03_lost_devices.md" in out
    # the demo's calls reached this gateway with their identity
    chats = [e for e in audit if e.route == "chat"]
    assert {e.connection for e in chats} == {"google-prod"}
    assert {(e.user, e.trace_id) for e in chats} >= {
        ("alice@halden.io", "demo-chain"),
        ("bob@halden.io", "ticket-4711"),
        ("dana@halden.io", "rag-query-1"),
    }
    assert all(e.status == 200 for e in audit)
