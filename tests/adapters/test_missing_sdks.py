"""Importing an adapter without its SDK raises an ImportError naming the extra to install."""

from __future__ import annotations

import importlib
import sys

import pytest

from igris_core import IgrisInputTypeError, IgrisPolicyDeniedError


@pytest.mark.parametrize(
    ("adapter", "sdk_modules", "extra"),
    [
        ("openai", ["openai"], "openai"),
        ("anthropic", ["anthropic"], "anthropic"),
        ("google", ["google.genai", "google.genai.types"], "google"),
    ],
)
def test_missing_sdk_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, adapter: str, sdk_modules: list[str], extra: str
) -> None:
    for name in sdk_modules:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: "not installed"
    monkeypatch.delitem(sys.modules, f"igris_core.adapters.{adapter}", raising=False)
    with pytest.raises(ImportError) as info:
        importlib.import_module(f"igris_core.adapters.{adapter}")
    message = str(info.value)
    assert f"pip install 'igris-integrations[{extra}]'" in message
    assert f"igris_core.adapters.{adapter}" in message
    assert isinstance(info.value.__cause__, ImportError)


def test_the_adapters_package_imports_without_any_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import igris_core

    monkeypatch.setattr(igris_core, "adapters", importlib.import_module("igris_core.adapters"))
    for name in ("openai", "anthropic", "google.genai"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "igris_core.adapters", raising=False)
    monkeypatch.delitem(sys.modules, "igris_core.adapters._common", raising=False)
    monkeypatch.delitem(sys.modules, "igris_core.adapters._errors", raising=False)
    package = importlib.import_module("igris_core.adapters")
    importlib.import_module("igris_core.adapters._common")
    assert package.__all__ == ["to_igris_error"]
    # the error helper needs no SDK either: it only recognises the exceptions of loaded ones
    denied = IgrisPolicyDeniedError("denied", status_code=403)
    assert package.to_igris_error(denied) is denied
    with pytest.raises(IgrisInputTypeError):
        package.to_igris_error(ValueError("not from an SDK"))
