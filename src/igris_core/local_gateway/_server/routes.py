"""The gateway's route table, built from :mod:`igris_core.protocol` (no path is written here)."""

from __future__ import annotations

import re
from typing import Final

from starlette.routing import compile_path

from igris_core import protocol
from igris_core.local_gateway._audit.trail import RouteName

__all__ = [
    "ROUTE_SHAPES",
    "ROUTE_SUFFIXES",
    "ROUTE_TEMPLATES",
    "classify_path",
    "is_audit_page",
    "is_audited",
]

_SLUG: Final = "{slug}"

# Starlette path templates of the served routes, derived from the protocol's path functions.
ROUTE_TEMPLATES: Final[dict[RouteName, str]] = {
    "chat": protocol.chat_completions_path(_SLUG),
    "embeddings": protocol.embeddings_path(_SLUG),
    "messages": protocol.messages_path(_SLUG),
    "providers": protocol.PROVIDERS_PATH,
}
ROUTE_SUFFIXES: Final[dict[RouteName, str]] = {
    "chat": protocol.CHAT_COMPLETIONS_SUFFIX,
    "embeddings": protocol.EMBEDDINGS_SUFFIX,
    "messages": protocol.MESSAGES_SUFFIX,
}

# The routes as a newcomer should read them (named in the 404 of an unknown path).
ROUTE_SHAPES: Final[tuple[str, ...]] = (
    f"GET {protocol.PROVIDERS_PATH}",
    *(
        f"POST {ROUTE_TEMPLATES[name].replace(_SLUG, '<slug>')}"
        for name in ("chat", "embeddings", "messages")
    ),
)

_MATCHERS: list[tuple[RouteName, re.Pattern[str]]] = [
    (name, compile_path(template)[0]) for name, template in ROUTE_TEMPLATES.items()
]
_LLM_ROOT = protocol.PROVIDERS_PATH.rsplit("/", 1)[0]  # "/llm"
# Any other path under a connection (``/llm/<slug>/...``, whatever API version an SDK appends:
# Gemini's native client calls ``v1`` or ``v1beta``) still names the connection, for the audit.
_CONNECTION_PREFIX = re.compile(
    compile_path(f"{_LLM_ROOT}/{_SLUG}")[0].pattern.rstrip("$") + r"/.+$"
)


def classify_path(path: str) -> tuple[RouteName, str | None]:
    """The route a path names and the connection slug in it, if any."""
    for name, regex in _MATCHERS:
        match = regex.match(path)
        if match:
            return name, match.groupdict().get("slug")
    match = _CONNECTION_PREFIX.match(path)
    return "unknown", match.group("slug") if match else None


def is_audited(path: str) -> bool:
    """Calls under ``/llm`` get an audit entry, whatever their outcome."""
    return path == _LLM_ROOT or path.startswith(_LLM_ROOT + "/")


def is_audit_page(path: str) -> bool:
    """The gateway's own audit page (signed in with a cookie, not the API key headers)."""
    page = protocol.LOCAL_AUDIT_PAGE_PATH
    return path in ("/", page) or path.startswith(page + "/")
