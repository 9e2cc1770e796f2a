"""The README runner fails a block for each thing a reader would call broken: an exception, a
warning, a block that hangs, a network call beyond the loopback; and it names the README line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("run_snippets.py")


def _run(tmp_path: Path, *codes: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    doc = tmp_path / "DOC.md"
    lines: list[str] = []
    blocks: list[dict[str, object]] = []
    for code in codes:
        lines.append("```python")
        blocks.append(
            {
                "line": len(lines) + 1,
                "code": code,
                "timeout": timeout,
                "label": f"block {len(blocks)}",
            }
        )
        lines.extend([*code.splitlines(), "```"])
    doc.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        [sys.executable, str(RUNNER)],
        input=json.dumps({"file": str(doc), "blocks": blocks}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_blocks_share_one_namespace_in_order(tmp_path: Path) -> None:
    done = _run(tmp_path, "x = 40\n", "print(x + 2)\n")
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout


def test_an_exception_fails_with_the_documents_line(tmp_path: Path) -> None:
    done = _run(tmp_path, "x = 1\n", "y = 2\nprint(get_weather)\n", "print('never')\n")
    assert done.returncode == 1
    assert "FAILED: block 1" in done.stderr
    assert "NameError: name 'get_weather' is not defined" in done.stderr
    assert 'DOC.md", line 6' in done.stderr and "print(get_weather)" in done.stderr
    assert "never" not in done.stdout


@pytest.mark.parametrize(
    "code",
    [
        "import numpy as np\nnp.float64(0.0) / np.float64(0.0)\n",
        "import warnings\nwarnings.warn('deprecated', DeprecationWarning)\n",
    ],
)
def test_a_warning_fails_the_block(tmp_path: Path, code: str) -> None:
    done = _run(tmp_path, code)
    assert done.returncode == 1
    assert "warnings:" in done.stderr
    assert "Warning" in done.stderr


def test_a_block_past_its_time_limit_fails(tmp_path: Path) -> None:
    done = _run(tmp_path, "import time\ntime.sleep(30)\n", timeout=0.5)
    assert done.returncode == 1
    assert "SnippetTimeout" in done.stderr


def test_only_the_loopback_is_reachable(tmp_path: Path) -> None:
    done = _run(
        tmp_path, "import socket\nsocket.create_connection(('192.0.2.1', 443), timeout=5)\n"
    )
    assert done.returncode == 1
    assert "SocketConnectBlockedError" in done.stderr
