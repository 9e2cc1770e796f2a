"""Checks of what the framework models are handed, shared by both frameworks: refused with an
:class:`~igris_core.IgrisInputError` naming the bad value, before any request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from igris_core._errors import IgrisInputError, IgrisInputTypeError
from igris_core._identity import Identity, call_identity
from igris_core._model_ref import parse_model

__all__ = ["IDENTITY_ARGUMENTS", "check_model", "check_texts", "pop_identity"]

IDENTITY_ARGUMENTS = ("igris_user", "igris_trace_id", "igris_metadata")
"""The keyword arguments of a framework call that carry its identity."""


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


def pop_identity(
    kwargs: dict[str, Any], *under: Identity | None, where: str = "the call's keyword arguments"
) -> Identity | None:
    """Take the :data:`IDENTITY_ARGUMENTS` off ``kwargs`` (a call's keyword arguments, or a
    copy of any mapping that uses those keys) and lay them over the layers ``under`` them; a
    bad value's error says ``where`` it came from."""
    user, trace_id, metadata = (kwargs.pop(name, None) for name in IDENTITY_ARGUMENTS)
    try:
        return call_identity(user, trace_id, metadata, *under)
    except IgrisInputError as exc:
        cls = IgrisInputTypeError if isinstance(exc, IgrisInputTypeError) else IgrisInputError
        raise cls(f"{exc.message} (from {where})") from None
