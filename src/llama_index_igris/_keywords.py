"""Constructor keywords of IgrisLLM and IgrisEmbedding: a keyword that is neither one of the
model's fields nor a constructor-only argument is refused, naming what it probably meant
(pydantic would otherwise drop it silently, e.g. LangChain's ``http_async_client``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from igris_core import IgrisInputTypeError

__all__ = ["refuse_unknown_keywords"]

# Names other OpenAI-style integrations use for what these classes call otherwise.
_RENAMED = {
    "http_async_client": "async_http_client",
    "api_base": "base_url",
    "openai_api_base": "base_url",
    "openai_api_key": "api_key",
    "request_timeout": "timeout",
}


def refuse_unknown_keywords(owner: str, given: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise :class:`~igris_core.IgrisInputTypeError` for the first keyword of ``given`` not in
    ``known``, naming the closest accepted one."""
    accepted = set(known)
    unknown = [name for name in given if name not in accepted]
    if not unknown:
        return
    name = unknown[0]
    meant = _RENAMED.get(name)
    if meant is None or meant not in accepted:
        close = difflib.get_close_matches(name, sorted(accepted), n=1)
        meant = close[0] if close else None
    hint = f"; did you mean {meant!r}?" if meant else ""
    raise IgrisInputTypeError(
        f"{owner}() got an unknown keyword argument {name!r}{hint} "
        f"(accepted: {', '.join(sorted(accepted))})"
    )
