"""The command line: ``python -m igris_core.local_gateway``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway.cli import main
from tests.local_gateway.helpers import chat_body


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text('[keys]\nfixed = "ig_local_cli_key"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "igris_core.local_gateway", "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Igris local gateway listening on http://127.0.0.1:")
        exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:])
        base_url = exports[protocol.ENV_BASE_URL]
        assert exports[protocol.ENV_API_KEY] == "ig_local_cli_key"
        assert base_url in lines[0] and not base_url.endswith(":0")
        headers = {"Authorization": "Bearer ig_local_cli_key"}
        providers = httpx.get(base_url + protocol.PROVIDERS_PATH, headers=headers, timeout=10)
        assert providers.status_code == 200
        answer = httpx.post(
            base_url + protocol.chat_completions_path("anthropic-prod"),
            json=chat_body("from the cli"),
            headers=headers,
            timeout=10,
        )
        assert answer.json()["choices"][0]["message"]["content"] == "from the cli"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = true", encoding="utf-8")
    assert main(["--config", str(bad), "--port", "0"]) == 2
    assert "unknown field" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2


def test_cli_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert "cannot listen" in capsys.readouterr().err
