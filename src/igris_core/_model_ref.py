"""Parsing of ``@<connection-slug>/<model>`` model strings (docs/protocol.md, "Model
addressing")."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from igris_core import protocol
from igris_core._errors import IgrisInputError, IgrisInputTypeError

__all__ = ["ModelRef", "parse_model", "validate_slug"]


class ModelRef(NamedTuple):
    """A parsed model string: the gateway connection and the provider's model name."""

    slug: str
    model: str

    def __str__(self) -> str:
        return f"@{self.slug}/{self.model}"


@lru_cache(maxsize=1024)
def _parse(value: str) -> ModelRef:
    match = protocol.MODEL_REF_RE.fullmatch(value)
    if match is None:
        raise IgrisInputError(
            f"invalid model {value!r}: expected {protocol.MODEL_REF_FORM} (slug: 1 to 64 "
            "characters of A-Z a-z 0-9 . _ - starting with a letter or digit; model: non-empty, "
            "no whitespace)"
        )
    return ModelRef(match["slug"], match["model"])


def parse_model(value: object) -> ModelRef:
    """Split ``"@openai-prod/gpt-4o"`` into ``ModelRef("openai-prod", "gpt-4o")``.

    The model part may itself contain ``/`` and ``:`` (``@together/meta-llama/Llama-3-70b``).
    Raises :class:`~igris_core.IgrisInputError` naming the bad value otherwise.

    >>> parse_model("@ollama/llama3:8b")
    ModelRef(slug='ollama', model='llama3:8b')
    """
    if not isinstance(value, str):
        raise IgrisInputTypeError(
            f"invalid model {value!r} ({type(value).__name__}): expected a string of the form "
            f"{protocol.MODEL_REF_FORM}"
        )
    return _parse(value)


def validate_slug(value: object) -> str:
    """Check a bare connection slug (``"openai-prod"``) and return it."""
    if not isinstance(value, str) or protocol.SLUG_RE.fullmatch(value) is None:
        raise IgrisInputError(
            f"invalid connection slug {value!r}: expected 1 to 64 characters of "
            "A-Z a-z 0-9 . _ - starting with a letter or digit, e.g. 'openai-prod'"
        )
    return value
