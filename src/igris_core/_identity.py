"""Who a call is made for: the ``X-Igris-User``, ``X-Igris-Trace-Id`` and
``X-Igris-Metadata-*`` headers, their validation, encoding and precedence.

Layers, most specific first (docs/protocol.md, "Identity headers"): the call's own
arguments, the framework's per-run configuration, an :func:`igris_context` scope, the client's or
model's defaults. ``user`` and ``trace_id`` come from the most specific layer that sets them;
metadata merges key by key (keys compare case-insensitively, as HTTP header names do).
"""

from __future__ import annotations

import contextvars
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import quote, unquote

from igris_core import protocol
from igris_core._errors import IgrisInputError, IgrisInputTypeError

__all__ = [
    "EMPTY_IDENTITY",
    "Identity",
    "call_identity",
    "current_context",
    "decode_header_value",
    "encode_header_value",
    "identity_headers",
    "igris_context",
    "resolve_identity",
]

# Printable ASCII except '%' (always encoded so that decoding is exact) goes out as is.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _has_control(value: str) -> bool:
    """Control characters, or lone surrogates (which no encoding can send)."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


def encode_header_value(value: str) -> str:
    """Percent-encode (RFC 3986, UTF-8) what cannot travel as printable ASCII.

    Printable ASCII stays readable; ``%``, non-ASCII characters and leading or trailing spaces
    (which HTTP would strip) are encoded. :func:`decode_header_value` undoes it exactly.
    """
    if value.isascii() and value.isprintable() and "%" not in value:
        encoded = value
    else:
        encoded = quote(value, safe=_SAFE)
    if encoded[:1] == " " or encoded[-1:] == " ":
        stripped = encoded.strip(" ")
        lead = len(encoded) - len(encoded.lstrip(" "))
        trail = len(encoded) - len(encoded.rstrip(" "))
        encoded = "%20" * lead + stripped + "%20" * trail if stripped else "%20" * len(encoded)
    return encoded


def decode_header_value(value: str) -> str:
    """Undo :func:`encode_header_value` (the gateway side's decoding)."""
    return unquote(value, encoding="utf-8", errors="replace") if "%" in value else value


def _check_text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise IgrisInputTypeError(
            f"invalid {what} {value!r} ({type(value).__name__}): expected a string"
        )
    if _has_control(value):
        raise IgrisInputError(
            f"invalid {what} {value!r}: control characters (CR, LF, NUL, ...) and lone "
            "surrogates are not allowed in Igris identity headers"
        )
    if not value.strip():
        raise IgrisInputError(f"invalid {what} {value!r}: expected a non-empty string")
    if len(value) > protocol.IDENTITY_VALUE_MAX_CHARS:
        raise IgrisInputError(
            f"invalid {what} {value[:40]!r}... ({len(value)} characters): at most "
            f"{protocol.IDENTITY_VALUE_MAX_CHARS} characters"
        )
    return value


def _check_metadata(metadata: object) -> Mapping[str, str]:
    if not isinstance(metadata, Mapping):
        raise IgrisInputTypeError(
            f"invalid metadata {metadata!r} ({type(metadata).__name__}): expected a mapping of "
            "str to str, e.g. {'team': 'platform'}"
        )
    if len(metadata) > protocol.METADATA_MAX_ENTRIES:
        raise IgrisInputError(
            f"invalid metadata: {len(metadata)} entries, at most {protocol.METADATA_MAX_ENTRIES}"
        )
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or protocol.METADATA_KEY_RE.fullmatch(key) is None:
            raise IgrisInputError(
                f"invalid metadata key {key!r}: expected {protocol.METADATA_KEY_FORM}"
            )
        if not isinstance(value, str):
            raise IgrisInputTypeError(
                f"invalid metadata value {value!r} ({type(value).__name__}) for key {key!r}: "
                "expected a string (convert numbers and booleans with str())"
            )
        if _has_control(value):
            raise IgrisInputError(
                f"invalid metadata value {value!r} for key {key!r}: control characters "
                "(CR, LF, NUL, ...) and lone surrogates are not allowed in Igris identity headers"
            )
        if len(value) > protocol.IDENTITY_VALUE_MAX_CHARS:
            raise IgrisInputError(
                f"invalid metadata value for key {key!r} ({len(value)} characters): at most "
                f"{protocol.IDENTITY_VALUE_MAX_CHARS} characters"
            )
        checked[key] = value
    return checked


_EMPTY: Mapping[str, str] = {}


class Identity:
    """One layer of identity. Values are validated on construction, so a bad value is refused
    where it is given, before any request.

    Example::

        Identity(user="alice@corp.com", trace_id="run-42", metadata={"team": "platform"})
    """

    __slots__ = ("metadata", "trace_id", "user")

    def __init__(
        self,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.user: str | None = None if user is None else _check_text("user", user)
        self.trace_id: str | None = None if trace_id is None else _check_text("trace_id", trace_id)
        self.metadata: Mapping[str, str] = _EMPTY if metadata is None else _check_metadata(metadata)

    def __repr__(self) -> str:
        return (
            f"Identity(user={self.user!r}, trace_id={self.trace_id!r}, "
            f"metadata={dict(self.metadata)!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return (self.user, self.trace_id, dict(self.metadata)) == (
            other.user,
            other.trace_id,
            dict(other.metadata),
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def is_empty(self) -> bool:
        """True when this layer sets nothing."""
        return self.user is None and self.trace_id is None and not self.metadata

    @classmethod
    def of(
        cls,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Identity | None:
        """A layer from optional parts, or ``None`` when all are unset (the common fast path)."""
        if user is None and trace_id is None and not metadata:
            return None
        return cls(user, trace_id, metadata)


EMPTY_IDENTITY = Identity()


def call_identity(
    user: str | None,
    trace_id: str | None,
    metadata: Mapping[str, str] | None,
    *under: Identity | None,
) -> Identity | None:
    """The identity layer of one call: its own ``igris_*`` arguments over the layers under
    them (most specific first), or ``None`` when none of them sets anything."""
    own = Identity.of(user, trace_id, metadata)
    present = [layer for layer in (own, *under) if layer is not None and not layer.is_empty]
    if len(present) <= 1:
        return present[0] if present else None
    return resolve_identity(*present)


def resolve_identity(*layers: Identity | None) -> Identity:
    """Merge layers, most specific first, into the identity a request carries."""
    present = [layer for layer in layers if layer is not None and not layer.is_empty]
    if not present:
        return EMPTY_IDENTITY
    if len(present) == 1:
        return present[0]
    user = next((lay.user for lay in present if lay.user is not None), None)
    trace_id = next((lay.trace_id for lay in present if lay.trace_id is not None), None)
    merged: dict[str, tuple[str, str]] = {}
    for layer in reversed(present):  # least specific first, so later layers override
        for key, value in layer.metadata.items():
            merged[key.lower()] = (key, value)
    metadata = dict(merged.values())
    if len(metadata) > protocol.METADATA_MAX_ENTRIES:
        raise IgrisInputError(
            f"invalid metadata: {len(metadata)} entries after merging the identity layers, "
            f"at most {protocol.METADATA_MAX_ENTRIES}"
        )
    result = Identity.__new__(Identity)  # parts are already validated
    result.user, result.trace_id, result.metadata = user, trace_id, metadata
    return result


def identity_headers(identity: Identity, body_user: object = None) -> dict[str, str]:
    """The ``X-Igris-*`` headers of an identity.

    ``body_user`` is the request body's ``user`` field: it becomes ``X-Igris-User`` only when no
    layer sets a user (docs/protocol.md, "Identity headers").
    """
    headers: dict[str, str] = {}
    user = identity.user
    if user is None and body_user is not None:
        user = _check_text("user (from the request body)", body_user)
    if user is not None:
        headers[protocol.USER_HEADER] = encode_header_value(user)
    if identity.trace_id is not None:
        headers[protocol.TRACE_ID_HEADER] = encode_header_value(identity.trace_id)
    for key, value in identity.metadata.items():
        headers[protocol.METADATA_HEADER_PREFIX + key] = encode_header_value(value)
    if len(headers) > 2:
        size = sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > protocol.IDENTITY_HEADERS_MAX_BYTES:
            raise IgrisInputError(
                f"invalid identity: the X-Igris-* headers take {size} bytes once encoded, at "
                f"most {protocol.IDENTITY_HEADERS_MAX_BYTES}; send less metadata"
            )
    return headers


_context: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "igris_context", default=None
)


def current_context() -> Identity | None:
    """The identity of the innermost :func:`igris_context` scope, if any."""
    return _context.get()


@contextmanager
def igris_context(
    user: str | None = None,
    trace_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Iterator[Identity]:
    """Set the identity of every Igris call made inside the ``with`` block.

    Backed by :mod:`contextvars`: it holds in asyncio tasks created inside the block and in
    threads started with a copied context (``contextvars.copy_context().run``). Nested scopes
    merge, the inner one winning. Per-call arguments and per-run framework configuration still
    take precedence over it; client and model defaults yield to it.

    Example::

        with igris_context(user="alice@corp.com", trace_id="ticket-981"):
            chain.invoke({"question": "..."})
    """
    layer = Identity(user, trace_id, metadata)
    outer = _context.get()
    token = _context.set(resolve_identity(layer, outer))
    try:
        yield _context.get() or EMPTY_IDENTITY
    finally:
        _context.reset(token)
