"""`@slug/model` parsing (docs/protocol.md, "Model addressing")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igris_core import IgrisInputError, IgrisInputTypeError, parse_model
from igris_core._model_ref import ModelRef, validate_slug


@pytest.mark.parametrize(
    ("value", "slug", "model"),
    [
        ("@openai-prod/gpt-4o", "openai-prod", "gpt-4o"),
        ("@together/meta-llama/Llama-3-70b", "together", "meta-llama/Llama-3-70b"),
        ("@ollama/llama3:8b", "ollama", "llama3:8b"),
        ("@a.b_c-1/m", "a.b_c-1", "m"),
        ("@" + "s" * 64 + "/m", "s" * 64, "m"),
    ],
)
def test_valid(value: str, slug: str, model: str) -> None:
    assert parse_model(value) == ModelRef(slug, model)
    assert str(parse_model(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "gpt-4o",
        "openai-prod/gpt-4o",
        "@openai-prod",
        "@openai-prod/",
        "@/gpt-4o",
        "@-bad/gpt-4o",
        "@" + "s" * 65 + "/m",
        "@openai prod/gpt-4o",
        "@openai-prod/gpt 4o",
        "@openai-prod/gpt-4o\n",
        "@open$ai/gpt-4o",
        "",
    ],
)
def test_invalid_names_the_value_and_the_form(value: str) -> None:
    with pytest.raises(IgrisInputError) as info:
        parse_model(value)
    assert repr(value) in str(info.value)
    assert "@<connection-slug>/<model>" in str(info.value)


def test_wrong_type() -> None:
    with pytest.raises(IgrisInputTypeError, match="expected a string"):
        parse_model(42)
    with pytest.raises(TypeError):
        parse_model(None)


slugs = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)
models = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Cs", "Zl", "Zp")), min_size=1
).filter(lambda m: not any(ch.isspace() for ch in m))


@given(slugs, models)
def test_round_trip(slug: str, model: str) -> None:
    ref = parse_model(f"@{slug}/{model}")
    assert ref == ModelRef(slug, model)


@given(st.text())
def test_never_crashes_on_arbitrary_text(value: str) -> None:
    try:
        ref = parse_model(value)
    except IgrisInputError:
        return
    assert value == f"@{ref.slug}/{ref.model}"


def test_validate_slug() -> None:
    assert validate_slug("openai-prod") == "openai-prod"
    with pytest.raises(IgrisInputError, match="'bad slug'"):
        validate_slug("bad slug")
