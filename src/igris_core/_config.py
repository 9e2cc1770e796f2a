"""Client options: the API key, base URL, timeout, retries and default identity, resolved and
checked once at construction (docs/protocol.md, "Base URL and key")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import httpx
from pydantic import SecretStr

from igris_core import protocol
from igris_core._answer import Redactor
from igris_core._deadline import attempt_seconds
from igris_core._errors import IgrisInputError, IgrisInputTypeError
from igris_core._identity import Identity, resolve_identity
from igris_core._version import __version__

__all__ = [
    "ClientOptions",
    "TimeoutTypes",
    "resolve_api_key",
    "resolve_base_url",
]

TimeoutTypes = float | int | httpx.Timeout | None


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    """The key from the argument, else ``IGRIS_API_KEY``; a missing or empty key is refused
    with a message that says which (an unset variable and an empty one need different fixes)."""
    if api_key is None:
        api_key = os.environ.get(protocol.ENV_API_KEY)
        source = f"the {protocol.ENV_API_KEY} environment variable"
        if api_key is None:
            raise IgrisInputError(
                f"missing Igris API key: {source} is not set and no api_key was given. Pass "
                f"api_key='ig_...' or set {protocol.ENV_API_KEY} (in a worker process too: "
                "pickled clients and models carry no key)."
            )
    else:
        source = "the api_key argument"
    if isinstance(api_key, SecretStr):
        raw = api_key.get_secret_value()
    elif isinstance(api_key, str):
        raw = api_key
    else:
        raise IgrisInputTypeError(
            f"invalid api_key of type {type(api_key).__name__}: expected a str or SecretStr"
        )
    if not raw.strip():
        raise IgrisInputError(
            f"missing Igris API key: {source} is empty. Pass api_key='ig_...' or set "
            f"{protocol.ENV_API_KEY} to your key."
        )
    if raw != raw.strip() or any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in raw):
        raise IgrisInputError(
            f"invalid Igris API key from {source}: it must be printable ASCII without spaces "
            "or line breaks (check for a stray newline)"
        )
    return SecretStr(raw)


def resolve_base_url(base_url: str | None) -> str:
    """``base_url`` argument, else ``IGRIS_BASE_URL``, else the hosted gateway; no trailing /."""
    if base_url is None:
        base_url = os.environ.get(protocol.ENV_BASE_URL) or protocol.DEFAULT_BASE_URL
    elif not isinstance(base_url, str):
        raise IgrisInputTypeError(
            f"invalid base_url {base_url!r}: expected a str such as 'https://api.igrisecurity.com'"
        )
    url = base_url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise IgrisInputError(f"invalid base_url {base_url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise IgrisInputError(
            f"invalid base_url {base_url!r}: expected an http(s) URL such as "
            "'https://api.igrisecurity.com'"
        )
    return url


def check_timeout(timeout: object) -> httpx.Timeout:
    """A timeout in seconds (or an ``httpx.Timeout``, or ``None`` for none)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 1e9:
        raise IgrisInputError(
            f"invalid timeout {timeout!r}: expected a positive number of seconds, an "
            "httpx.Timeout, or None"
        )
    return httpx.Timeout(float(timeout))


def check_max_retries(max_retries: object) -> int:
    """A retry count: an int of 0 or more."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise IgrisInputError(f"invalid max_retries {max_retries!r}: expected an int >= 0")
    return max_retries


def check_limit(name: str, value: object) -> int:
    """A size limit in bytes: an int of 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise IgrisInputError(f"invalid {name} {value!r}: expected a number of bytes >= 1")
    return value


def check_stream_timeout(value: object) -> float | None:
    """The optional total duration of a stream, in seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise IgrisInputError(
            f"invalid stream_timeout {value!r}: expected a positive number of seconds or None"
        )
    return float(value)


def _is_header_text(text: str) -> bool:
    return all(0x20 <= ord(ch) < 0x7F for ch in text)


def check_headers(headers: object, what: str = "default_headers") -> dict[str, str]:
    """Extra headers: a mapping of str to str, names and values printable ASCII (headers are
    ASCII on the wire; a control character would split the request). Checked before anything
    is sent, like identity values."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise IgrisInputTypeError(f"invalid {what} {headers!r}: expected a mapping of str to str")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise IgrisInputTypeError(
                f"invalid {what} entry {name!r}: {value!r}: names and values must be strings"
            )
        if not name or ":" in name or " " in name or not _is_header_text(name):
            raise IgrisInputError(
                f"invalid {what} name {name!r}: expected a header name of printable ASCII "
                "without spaces or colons, e.g. 'X-Team'"
            )
        if not _is_header_text(value):
            raise IgrisInputError(
                f"invalid {what} value {value!r} for {name!r}: expected printable ASCII (no "
                "control characters such as CR or LF, no non-ASCII characters; percent-encode "
                "them)"
            )
        checked[name] = value
    return checked


@dataclass(frozen=True)
class ClientOptions:
    """Everything a client needs to make a request, resolved once."""

    api_key: SecretStr
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    identity: Identity
    default_headers: Mapping[str, str] = field(default_factory=dict)
    max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES
    stream_timeout: float | None = None
    # Derived: the headers every request carries (auth, user agent, defaults, default identity).
    static_headers: Mapping[str, str] = field(init=False, repr=False, compare=False)
    # Derived: removes any echo of the key from answers.
    redact: Redactor = field(init=False, repr=False, compare=False)
    # Derived: the wall-clock bound of one attempt (and of the wait for each stream event).
    attempt_seconds: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = {
            protocol.AUTHORIZATION_HEADER: f"Bearer {self.api_key.get_secret_value()}",
            "User-Agent": protocol.USER_AGENT_PREFIX + __version__,
            "Accept": "application/json",
            "Accept-Encoding": protocol.ACCEPT_ENCODING,
        }
        headers.update(self.default_headers)
        object.__setattr__(self, "static_headers", headers)
        object.__setattr__(self, "redact", Redactor(self.api_key.get_secret_value()))
        object.__setattr__(self, "attempt_seconds", attempt_seconds(self.timeout))

    @classmethod
    def build(
        cls,
        *,
        api_key: str | SecretStr | None,
        base_url: str | None,
        timeout: TimeoutTypes,
        max_retries: int,
        user: str | None,
        trace_id: str | None,
        metadata: Mapping[str, str] | None,
        default_headers: Mapping[str, str] | None,
        max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES,
        stream_timeout: float | None = None,
    ) -> ClientOptions:
        """Resolve and check every option (raises :class:`IgrisInputError` on bad input)."""
        return cls(
            api_key=resolve_api_key(api_key),
            base_url=resolve_base_url(base_url),
            timeout=check_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            identity=Identity(user, trace_id, metadata),
            default_headers=check_headers(default_headers),
            max_response_bytes=check_limit("max_response_bytes", max_response_bytes),
            max_event_bytes=check_limit("max_event_bytes", max_event_bytes),
            stream_timeout=check_stream_timeout(stream_timeout),
        )

    def derive(
        self,
        *,
        identity: Identity | None = None,
        timeout: TimeoutTypes | object = ...,
        max_retries: int | object = ...,
    ) -> ClientOptions:
        """A copy with a more specific identity layer on top, and other timeout or retries."""
        changes: dict[str, object] = {}
        if identity is not None:
            changes["identity"] = resolve_identity(identity, self.identity)
        if timeout is not ...:
            changes["timeout"] = check_timeout(timeout)
        if max_retries is not ...:
            changes["max_retries"] = check_max_retries(max_retries)
        return replace(self, **changes)  # type: ignore[arg-type]
