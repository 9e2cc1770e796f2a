"""The ``igris_core.testing`` pytest plugin, as a user project opts into it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

USER_CONFTEST = 'pytest_plugins = ["igris_core.testing"]\n'
USER_TESTS = """
import httpx

from igris_core.local_gateway import LocalGateway

SEEN = []


def chat(gw: LocalGateway, text: str) -> httpx.Response:
    return httpx.post(
        gw.connection_url("openai-prod") + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": text}]},
        headers={"Authorization": f"Bearer {gw.api_key}"},
    )


def test_first(igris_gateway: LocalGateway) -> None:
    SEEN.append(igris_gateway)
    igris_gateway.deny("nothing-about-cats", pattern="cat")
    assert chat(igris_gateway, "cat").status_code == 403
    assert len(igris_gateway.audit) == 1


def test_second_starts_clean(
    igris_gateway: LocalGateway, igris_gateway_session: LocalGateway
) -> None:
    assert igris_gateway is SEEN[0] is igris_gateway_session
    assert igris_gateway.audit == []
    assert chat(igris_gateway, "cat").status_code == 200
"""


def test_plugin_gives_a_reset_gateway_per_test(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(USER_CONFTEST, encoding="utf-8")
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        # Only what the user's conftest asks for: proves the opt-in works on its own (and is fast).
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_plugin_is_not_auto_loaded() -> None:
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="pytest11")}
    assert not any(name.startswith("igris_core") for name in names)
