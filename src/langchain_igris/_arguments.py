"""Constructor arguments of the LangChain models: ``ChatOpenAI``'s other spellings, and the
arguments of OpenAI's own client classes that mean nothing through the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igris_core import IgrisInputError

__all__ = ["drop_openai_client_arguments", "rename_arguments"]


def rename_arguments(values: dict[str, Any], spellings: Mapping[str, str]) -> dict[str, Any]:
    """Constructor arguments with other accepted spellings renamed to the field names."""
    if not any(name in values for name in spellings):
        return values
    values = dict(values)
    for other, name in spellings.items():
        if other in values:
            if name in values:
                raise ValueError(f"{name!r} was given twice (also as {other!r})")
            values[name] = values.pop(other)
    return values


def drop_openai_client_arguments(
    values: dict[str, Any], meanings: Mapping[str, str], owner: str
) -> dict[str, Any]:
    """Constructor arguments without those of OpenAI's own client classes (``ChatOpenAI``,
    ``OpenAIEmbeddings``) that mean nothing through the gateway. One left unset (``None``,
    ``False``) is dropped, so shared configurations work; one set raises
    :class:`~igris_core.IgrisInputError` saying why, since ignoring it would change the
    behaviour asked for. Neither reaches the request body."""
    if not any(name in values for name in meanings):
        return values
    values = dict(values)
    for name, why in meanings.items():
        if name in values and values.pop(name) not in (None, False):
            raise IgrisInputError(f"unsupported {owner} argument {name!r}: {why}")
    return values
