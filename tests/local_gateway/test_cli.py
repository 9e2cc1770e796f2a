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
from igris_core.local_gateway._cli import main
from igris_core.local_gateway._config.toml_file import load_config
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


def _start(*args: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start the CLI; return the process, its base URL and the key it printed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "igris_core.local_gateway", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(4)]
    exports = dict(
        line.removeprefix("export ").strip().split("=", 1)
        for line in lines
        if line.startswith("export ")
    )
    assert lines[3].startswith("Audit page: ")
    return process, exports[protocol.ENV_BASE_URL], exports[protocol.ENV_API_KEY]


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0
    return err


def test_api_key_is_stable_across_restarts_and_each_call_is_logged() -> None:
    for attempt in ("first", "second"):
        process, base_url, key = _start("--api-key", "ig_local_stable")
        try:
            assert key == "ig_local_stable"
            answer = httpx.post(
                base_url + protocol.chat_completions_path("openai-prod"),
                json=chat_body(attempt),
                headers={"Authorization": f"Bearer {key}", protocol.USER_HEADER: "dev"},
                timeout=10,
            )
            assert answer.status_code == 200
            request_id = answer.headers[protocol.REQUEST_ID_HEADER]
        finally:
            err = _stop(process)
        (line,) = [line for line in err.splitlines() if request_id in line]
        assert " 200 POST /llm/openai-prod/v1/chat/completions openai-prod/gpt-4o " in line
        assert "user=dev " in line
        assert "Traceback" not in err


def test_without_the_extra_one_line_names_it() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from igris_core.local_gateway._cli import main\n"
        "raise SystemExit(main(['--port', '0']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "pip install 'igris-integrations[local-gateway]'" in line


def test_help_and_the_example_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--print-example-config" in capsys.readouterr().out
    assert main(["--print-example-config"]) == 0
    text = capsys.readouterr().out
    (tmp_path / "example.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "example.toml")
    assert {c.slug for c in config.connections} >= {"openai-prod", "agent"}
