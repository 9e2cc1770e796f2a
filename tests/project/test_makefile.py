"""The Makefile's install step: on a fresh machine it says, before the long wait, that it builds
llama.cpp once; when the venv or uv's cache already has that build it says nothing of it.

Each test runs the real ``install`` target with a stand-in for uv (it records what it was asked
and prints the cache directory the test chose) and a venv in a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTICE = (
    "building llama.cpp once for the local model, about 5 minutes on 2 cores; "
    "later runs reuse the cached build"
)
FAKE_UV = """#!/bin/sh
echo "uv $*" >> "$FAKE_UV_LOG"
if [ "$1 $2" = "cache dir" ]; then echo "$FAKE_UV_CACHE"; fi
"""

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _locked_llama_cpp_version() -> str:
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    match = re.search(r'^name = "llama-cpp-python"\nversion = "([^"]+)"', lock, re.MULTILINE)
    assert match, "uv.lock no longer pins llama-cpp-python"
    return match[1]


class Setup:
    """A temporary venv directory, uv cache and stand-in uv for one test."""

    def __init__(self, tmp_path: Path) -> None:
        self.venv = tmp_path / "venv"
        (self.venv / "bin").mkdir(parents=True)
        self.cache = tmp_path / "uv-cache"
        self.cache.mkdir()
        self.log = tmp_path / "uv.log"
        self.uv = tmp_path / "uv"
        self.uv.write_text(FAKE_UV, encoding="utf-8")
        self.uv.chmod(self.uv.stat().st_mode | stat.S_IXUSR)

    def install(self) -> str:
        """``make install`` with this setup; its standard output (the run must succeed)."""
        # A run from inside `make test` must not inherit the outer make's job server.
        env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
        env.update(FAKE_UV_LOG=str(self.log), FAKE_UV_CACHE=str(self.cache))
        result = subprocess.run(
            ["make", "-s", "-C", str(ROOT), f"VENV={self.venv}", f"UV={self.uv}", "install"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def synced(self) -> bool:
        """Whether the last install ran ``uv sync``."""
        return self.log.exists() and "uv sync" in self.log.read_text(encoding="utf-8")


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_a_fresh_machine_is_told_once_that_llama_cpp_is_built(setup: Setup) -> None:
    first = setup.install()
    assert first.splitlines().count(NOTICE) == 1
    assert setup.synced()

    setup.log.unlink()
    again = setup.install()  # the venv is up to date: nothing runs, nothing is said
    assert NOTICE not in again
    assert not setup.synced()


def test_nothing_is_said_when_uv_has_the_build_cached(setup: Setup) -> None:
    version = _locked_llama_cpp_version()
    build = setup.cache / "sdists-v11" / "pypi" / "llama-cpp-python" / version / "Ab12"
    build.mkdir(parents=True)
    (build / f"llama_cpp_python-{version}-py3-none-linux_x86_64.whl").write_bytes(b"")
    assert NOTICE not in setup.install()
    assert setup.synced()


def test_nothing_is_said_when_the_venv_already_has_llama_cpp(setup: Setup) -> None:
    pytest.importorskip("llama_cpp")
    python = setup.venv / "bin" / "python"  # this venv's interpreter, which has llama_cpp
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    assert NOTICE not in setup.install()
    assert setup.synced()
