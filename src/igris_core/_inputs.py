"""Checks of what the framework models are handed, shared by both frameworks: refused with an
:class:`~igris_core.IgrisInputError` naming the bad value, before any request."""

from __future__ import annotations

from collections.abc import Sequence

from igris_core._errors import IgrisInputTypeError
from igris_core._model_ref import parse_model

__all__ = ["check_model", "check_texts"]


def check_texts(texts: object) -> list[str]:
    """The texts to embed: a list (or other sequence) of str. A lone str, which would be embedded
    character by character, or a non-str item (which the wire would take for token ids) is
    refused."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise IgrisInputTypeError(
            f"invalid texts {texts!r:.200} ({type(texts).__name__}): expected a list of str, "
            "e.g. ['Hello']"
        )
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise IgrisInputTypeError(
                f"invalid text at position {position}: {text!r:.200} ({type(text).__name__}); "
                "expected a str"
            )
    return list(texts)


def check_model(value: str) -> str:
    """A model string of the form ``@<connection-slug>/<model>``, returned as given."""
    parse_model(value)
    return value
