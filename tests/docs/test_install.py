"""README "## Install": every extra it names exists in pyproject.toml, its table lists every extra
with what it installs, and the wheel it tells you to build installs and works without the
checkout."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.docs.snippets import code_blocks

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
SELF = PROJECT["name"]
# The version lives in one place, read by the build (pyproject: dynamic = ["version"]).
VERSION = re.search(
    r'__version__ = "([^"]+)"',
    (ROOT / "src" / "igris_core" / "_version.py").read_text(encoding="utf-8"),
).group(1)  # type: ignore[union-attr]

# `pip install ".[a,b]"`, `igris-integrations[a]`, `....whl[a]`, and the error messages' form.
_EXTRAS_USE = re.compile(r"""(?:"\.|igris-integrations|\.whl)\[(?P<extras>[a-z0-9,-]+)\]""")
_TABLE_ROW = re.compile(r"^\| `(?P<extra>[a-z0-9-]+)` \| (?P<installs>[^|]*) \|", re.MULTILINE)


def _install_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]


def _names(requirements: list[str]) -> set[str]:
    """Distribution names (extras of this project expanded to ``extra:<name>``)."""
    names: set[str] = set()
    for line in requirements:
        req = Requirement(line)
        if req.name == SELF:
            names.update(f"extra:{extra}" for extra in req.extras)
        elif req.marker is None:  # tomli on old Pythons only: not worth a table cell
            names.add(f"{req.name}[{','.join(sorted(req.extras))}]" if req.extras else req.name)
    return names


def _used_extras(text: str) -> set[str]:
    return {e for m in _EXTRAS_USE.finditer(text) for e in m["extras"].split(",")}


def test_every_extra_the_readme_and_the_code_name_exists() -> None:
    sources = [
        README,
        *sorted((ROOT / "src").rglob("*.py")),
        *sorted((ROOT / "examples").rglob("*.py")),
    ]
    for path in sources:
        unknown = _used_extras(path.read_text(encoding="utf-8")) - set(EXTRAS)
        assert not unknown, f"{path.relative_to(ROOT)} names extras {unknown} not in pyproject.toml"


def test_the_install_commands_use_the_checkout_and_the_wheel() -> None:
    bash = "\n".join(b.code for b in code_blocks(README) if b.section == "Install")
    assert 'pip install ".[langchain]"' in bash
    assert _used_extras(bash) >= {"langchain", "llama-index", "openai", "local-gateway", "all"}
    wheel = f"dist/{SELF.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    assert f'pip install "{wheel}[langchain]"' in bash
    assert "uv build" in bash and "python -m build" in bash


def test_the_extras_table_lists_every_extra_and_what_it_installs() -> None:
    rows = {m["extra"]: m["installs"] for m in _TABLE_ROW.finditer(_install_section())}
    assert set(rows) == set(EXTRAS), "the table's extras differ from pyproject.toml's"
    for extra, requirements in EXTRAS.items():
        if extra == "all":
            continue
        named = set(re.findall(r"`([^`]+)`", rows[extra]))
        expected = {n.removeprefix("extra:") for n in _names(requirements)}
        assert named == expected, f"extra {extra!r}: the table says {named}, pyproject {expected}"
    in_all = {n.removeprefix("extra:") for n in _names(EXTRAS["all"])}
    assert in_all == set(EXTRAS) - {"all", "scale"}, "the table says `all` is every extra but scale"


def test_the_readme_names_the_langchain_package_where_it_uses_create_agent() -> None:
    text = README.read_text(encoding="utf-8")
    assert "from langchain.agents import create_agent" in text
    assert "pip install langchain" in _install_section()


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (make install puts it in .tools/bin)")
    return found


@pytest.mark.timeout(900)
def test_the_built_wheel_installs_and_runs_without_the_checkout(tmp_path: Path) -> None:
    uv = _uv()
    build = [uv, "build", "--wheel", "--offline", "--out-dir", str(tmp_path / "dist"), str(ROOT)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    assert wheel.name == f"{SELF.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("igris_core", "langchain_igris", "llama_index_igris"):
        assert f"{package}/py.typed" in names
    # the README points at it
    assert "igris_core/local_gateway/_config/example-config.toml" in names
    assert not any(n.startswith("tests/") for n in names)

    # A fresh environment with the wheel alone; its dependencies come from this one's
    # site-packages, on sys.path after the wheel (a .pth line), without its editable checkout.
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "--offline", "-q", "--python", sys.executable, str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--offline", "-q", "--no-deps", "--python", str(python), str(wheel)],
        check=True,
        timeout=120,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check = (
        "import igris_core, langchain_igris, llama_index_igris\n"
        "from igris_core.local_gateway import LocalGateway\n"
        "from langchain_igris import ChatIgris\n"
        f"assert igris_core.__file__.startswith({str(venv)!r}), igris_core.__file__\n"
        "with LocalGateway() as gw:\n"
        "    llm = ChatIgris(model='@openai-prod/gpt-4o',\n"
        "                    base_url=gw.base_url, api_key=gw.api_key)\n"
        "    print(llm.invoke('from the wheel').content)\n"
    )
    done = subprocess.run(
        [str(python), "-c", check], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "from the wheel" in done.stdout
