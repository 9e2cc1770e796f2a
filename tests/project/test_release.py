"""Release basics: one version, the license the metadata declares, classifiers for every Python
the package supports, and a pytest plugin that names pytest when it is missing."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import igris_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # the local-gateway extra brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DIST = "igris-integrations"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600
    )


def test_version_is_written_in_one_place() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    path = PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert path == "src/igris_core/_version.py"
    written = re.findall(r'__version__ = "([^"]+)"', (ROOT / path).read_text(encoding="utf-8"))
    assert written == [igris_core.__version__]
    assert importlib.metadata.version(DIST) == igris_core.__version__


def test_changelog_has_the_current_version_and_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{igris_core.__version__}]" in changelog


def test_license_file_is_the_declared_apache_2_0_text() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    # The whole text, not a pointer to it: the nine sections and the appendix.
    for heading in ("1. Definitions.", "9. Accepting Warranty or Additional Liability."):
        assert heading in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "APPENDIX: How to apply the Apache License to your work." in text


def test_classifiers_list_every_supported_python() -> None:
    project = PYPROJECT["project"]
    lowest = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert lowest is not None
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    supported = re.search(r"Python 3\.(\d+) to 3\.(\d+)", readme)
    assert supported is not None, "README.md names the supported Python versions"
    low, high = int(supported[1]), int(supported[2])
    assert low == int(lowest[1])
    classifiers = set(project["classifiers"])
    for minor in range(low, high + 1):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    installed = set(importlib.metadata.metadata(DIST).get_all("Classifier") or [])
    assert classifiers <= installed


@pytest.mark.timeout(600)  # a fresh interpreter imports LangChain and LlamaIndex
def test_importing_the_packages_does_not_import_pytest() -> None:
    result = _run(
        "import sys, igris_core, langchain_igris, llama_index_igris, igris_core.local_gateway\n"
        "assert 'pytest' not in sys.modules, 'pytest imported'\n"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(600)
def test_the_pytest_plugin_names_pytest_when_it_is_missing() -> None:
    result = _run(
        "import sys\n"
        "sys.modules['pytest'] = None  # as if pytest were not installed\n"
        "try:\n"
        "    import igris_core.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('imported without pytest')\n"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    message = result.stdout
    assert "igris_core.testing" in message
    assert "pip install pytest" in message
