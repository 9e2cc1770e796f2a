"""Every import is declared: a third-party module the code imports belongs to a distribution that
pyproject.toml lists where that code needs it.

- A package module imports, at module level, only the distributions its install brings: the base
  dependencies, plus the extra its subpackage needs (``langchain`` for ``langchain_igris``, ...).
- An import inside a function, or guarded by ``except ImportError`` (the SDK adapters, the
  pytest plugin), may use any extra; the guard raises an error naming what to install.
- Tests, benchmarks and examples may also use the dependency groups.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the local-gateway extra brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"igris_core", "langchain_igris", "llama_index_igris", "tests", "benchmarks"}
# The standard library of the newest Python (imports of newer modules sit behind version checks).
STDLIB = sys.stdlib_module_names | {"tomllib"}

# Subpackages and the extras their module-level imports may need, most specific prefix first.
AREAS: dict[str, tuple[str, ...]] = {
    "src/igris_core/local_gateway/": ("local-gateway", "local-model"),
    "src/igris_core/testing.py": ("local-gateway",),
    "src/langchain_igris/": ("langchain",),
    "src/llama_index_igris/": ("llama-index",),
    "src/igris_core/": (),
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return _normalize(match[0])


def _extra_names(extra: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The distributions an extra brings, self-references (``igris-integrations[x]``) expanded."""
    names: set[str] = set()
    for requirement in PYPROJECT["project"]["optional-dependencies"][extra]:
        name = _requirement_name(requirement)
        if name == _normalize(PYPROJECT["project"]["name"]):
            inner = re.search(r"\[([^\]]+)\]", requirement)
            assert inner is not None, requirement
            for other in inner[1].split(","):
                if other.strip() not in seen:
                    names |= _extra_names(other.strip(), seen | {extra})
        else:
            names.add(name)
    return names


BASE = {_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
EXTRAS = {extra: _extra_names(extra) for extra in PYPROJECT["project"]["optional-dependencies"]}
ANY_EXTRA = BASE.union(*EXTRAS.values())
# Distributions imported directly although only a declared one requires them, and why. The
# test checks that the declared one really requires it.
VIA: dict[str, tuple[str, str]] = {
    "pydantic-core": ("pydantic", "pydantic pins it exactly; to_json is its documented fast path"),
    "httpx2": ("anthropic", "the Anthropic SDK's HTTP library: its adapter tests mock it"),
    "tiktoken": (
        "langchain-openai",
        "exact token counts only when it and its encoding are already installed; else the "
        "documented approximation (langchain_igris._tokens imports it behind ImportError)",
    ),
    "packaging": ("pytest", "the install test parses pyproject's requirements with it"),
}
GROUPS = {
    _requirement_name(r)
    for group in PYPROJECT["dependency-groups"].values()
    for r in group
    if isinstance(r, str)
}


@cache
def _top_level_owners() -> Mapping[str, set[str]]:
    """Top-level module name -> the distributions installing it (read from their file lists,
    which works alike on every Python; 3.10's packages_distributions misses some)."""
    owners: dict[str, set[str]] = {}
    for name, prefixes in _files_by_distribution().items():
        for prefix in prefixes:
            owners.setdefault(prefix.split("/")[0], set()).add(name)
    return owners


@cache
def _files_by_distribution() -> dict[str, set[str]]:
    """Distribution name -> the top two levels of the module paths it installs."""
    owned: dict[str, set[str]] = {}
    for dist in importlib.metadata.distributions():
        prefixes = owned.setdefault(_normalize(dist.metadata["Name"]), set())
        for file in dist.files or ():
            parts = file.parts
            if parts and parts[-1].endswith(".py"):
                prefixes.add("/".join(parts[:2]).removesuffix(".py"))
    return owned


@cache
def distribution_of(module: str) -> frozenset[str]:
    """The distributions that may provide ``module`` (several for a namespace package such as
    ``llama_index``: the one whose files hold the second level wins)."""
    top = module.split(".")[0]
    candidates = set(_top_level_owners().get(top, set()))
    if len(candidates) > 1 and "." in module:
        second = "/".join(module.split(".")[:2])
        owners = {
            name
            for name in candidates
            if second in _files_by_distribution().get(name, set())
            or any(p.startswith(second) for p in _files_by_distribution().get(name, set()))
        }
        candidates = owners or candidates
    # A module not installed here (tomli on 3.11+) is named like its distribution.
    return frozenset(candidates or {_normalize(top)})


def _is_declared(dists: frozenset[str], allowed: set[str]) -> bool:
    return bool(dists & allowed) or any(d in VIA and VIA[d][0] in allowed for d in dists)


@dataclass(frozen=True)
class Import:
    """One absolute import of a third-party module."""

    path: str
    line: int
    module: str
    module_level: bool  # runs when the module is imported
    guarded: bool  # inside ``try: ... except ImportError``


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = ast.unparse(handler.type) if handler.type is not None else "BaseException"
    return any(n in names for n in ("ImportError", "ModuleNotFoundError", "Exception"))


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(ROOT).as_posix()

    def walk(nodes: Iterable[ast.AST], module_level: bool, guarded: bool) -> Iterator[Import]:
        for child in nodes:
            level, guard = module_level, guarded
            deferred = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if deferred or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                level = False
            elif isinstance(child, ast.Try) and any(
                _catches_import_error(h) for h in child.handlers
            ):
                # Only the try body is guarded; handlers and else run unguarded.
                yield from walk(child.body, level, True)
                yield from walk([*child.handlers, *child.orelse, *child.finalbody], level, guard)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(rel, child.lineno, alias.name, level, guard)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield Import(rel, child.lineno, child.module, level, guard)
            yield from walk(ast.iter_child_nodes(child), level, guard)

    for found in walk(ast.iter_child_nodes(tree), True, False):
        top = found.module.split(".")[0]
        if top not in FIRST_PARTY and top not in STDLIB:
            yield found


def _python_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts)


def _area_extras(path: str) -> tuple[str, ...] | None:
    return next((extras for prefix, extras in AREAS.items() if path.startswith(prefix)), None)


def test_the_scan_finds_the_imports_it_checks() -> None:
    """The checks below look at real imports (a scan that finds nothing proves nothing)."""
    found = {i.module.split(".")[0] for p in _python_files("src") for i in _imports(p)}
    assert {"httpx", "pydantic", "anyio", "starlette", "langchain_core", "llama_index"} <= found
    assert distribution_of("llama_index.core.llms") == {"llama-index-core"}
    assert distribution_of("langchain_core.messages") == {"langchain-core"}


def test_indirect_distributions_come_with_the_declared_one() -> None:
    for dist, (parent, _why) in VIA.items():
        requires = importlib.metadata.requires(parent) or []
        assert any(_requirement_name(r) == dist for r in requires), (dist, parent)


def test_package_imports_are_declared_in_the_project_dependencies_or_an_extra() -> None:
    undeclared = [
        f"{i.path}:{i.line}: {i.module} ({', '.join(sorted(distribution_of(i.module)))})"
        for p in _python_files("src")
        for i in _imports(p)
        if not _is_declared(distribution_of(i.module), ANY_EXTRA | (GROUPS if i.guarded else set()))
    ]
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)


def test_module_level_imports_need_only_the_install_of_their_subpackage() -> None:
    """``import langchain_igris`` works with ``igris-integrations[langchain]``, ``igris_core``
    with the base install, and so on."""
    wrong: list[str] = []
    for path in _python_files("src"):
        for found in _imports(path):
            if not found.module_level or found.guarded:
                continue
            extras = _area_extras(found.path)
            assert extras is not None, f"{found.path} is in no area of this test"
            allowed = BASE.union(*(EXTRAS[e] for e in extras))
            dists = distribution_of(found.module)
            if not _is_declared(dists, allowed):
                wrong.append(
                    f"{found.path}:{found.line}: {found.module} ({', '.join(sorted(dists))}) "
                    f"is not in the base install{''.join(' or [' + e + ']' for e in extras)}: "
                    "import it inside a function or behind 'except ImportError' with an error "
                    "that names the extra"
                )
    assert not wrong, "\n".join(wrong)


def test_test_benchmark_and_example_imports_are_declared() -> None:
    declared = ANY_EXTRA | GROUPS
    undeclared = [
        f"{i.path}:{i.line}: {i.module} ({', '.join(sorted(distribution_of(i.module)))})"
        for p in _python_files("tests", "benchmarks", "examples")
        for i in _imports(p)
        if not _is_declared(distribution_of(i.module), declared)
    ]
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)
