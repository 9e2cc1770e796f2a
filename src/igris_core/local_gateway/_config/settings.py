"""The gateway's configuration: keys, connections, deny rules, rate limits and the body limit.

Everything here is an immutable value checked on construction, so a bad setting fails where it
is written (the Python call or the TOML file), never on the first request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from igris_core import protocol
from igris_core.local_gateway._audit.trail import DEFAULT_AUDIT_MAX_ENTRIES
from igris_core.local_gateway._backends.scripted import ScriptedReply
from igris_core.local_gateway._config.providers import provider_info

__all__ = [
    "DEFAULT_CONNECTIONS",
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "DEFAULT_MAX_BODY_BYTES",
    "BackendName",
    "ConnectionConfig",
    "DenyRule",
    "GatewayConfig",
    "RateLimitPer",
    "RateLimitRule",
]

BackendName = Literal["echo", "script", "forward", "llama-cpp"]
RateLimitPer = Literal["key", "user", "connection"]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_EMBEDDING_DIMENSIONS = 256
_MAX_EMBEDDING_DIMENSIONS = 8192


def _check_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    return name


@dataclass(frozen=True)
class ConnectionConfig:
    """A connection: the ``slug`` of ``/llm/<slug>/v1``, its provider and the backend serving it.

    ``backend`` is ``"echo"`` (deterministic answers derived from the request), ``"script"``
    (answers queued with :meth:`LocalGateway.script`) or ``"forward"`` (a real OpenAI-compatible
    upstream at ``upstream_base_url``, authenticated with the key held by the environment
    variable ``upstream_api_key_env``, read at request time) or ``"llama-cpp"`` (a local GGUF
    model run in-process: ``model_path``, default the bundled SmolLM2-135M-Instruct, on
    ``threads`` CPU threads, with at most ``max_queued`` requests waiting or running; needs the
    extra ``local-model``).

    ``script`` holds replies served first, in order, on any backend (as if queued with
    :meth:`LocalGateway.script` at start and after each reset); with ``script_loop`` they start
    over once all were served.
    """

    slug: str
    provider: str = "openai"
    backend: BackendName = "echo"
    upstream_base_url: str | None = None
    upstream_api_key_env: str | None = None
    embedding_dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS
    script: tuple[ScriptedReply, ...] = ()
    script_loop: bool = False

    model_path: str | None = None
    threads: int = 1
    max_queued: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "script", tuple(self.script))
        if not all(isinstance(reply, ScriptedReply) for reply in self.script):
            raise TypeError(f"connection {self.slug!r}: script must hold ScriptedReply values")
        if self.script_loop and not self.script:
            raise ValueError(f"connection {self.slug!r}: script_loop needs a script")
        if not isinstance(self.slug, str) or protocol.SLUG_RE.fullmatch(self.slug) is None:
            raise ValueError(
                f"invalid connection slug {self.slug!r}: 1 to 64 characters of A-Z a-z 0-9 . _ -, "
                "starting with a letter or digit"
            )
        provider_info(self.provider)  # raises on an unknown provider
        if self.backend not in get_args(BackendName):
            raise ValueError(
                f"connection {self.slug!r}: unknown backend {self.backend!r}; expected one of "
                f"{', '.join(get_args(BackendName))}"
            )
        if self.backend == "forward" and not self.upstream_base_url:
            raise ValueError(
                f"connection {self.slug!r}: the forward backend needs upstream_base_url"
            )
        if self.upstream_base_url is not None and not re.match(
            r"https?://", self.upstream_base_url
        ):
            raise ValueError(
                f"connection {self.slug!r}: upstream_base_url must start with http:// or https://"
            )
        dims = self.embedding_dimensions
        if (
            isinstance(dims, bool)
            or not isinstance(dims, int)
            or not (1 <= dims <= _MAX_EMBEDDING_DIMENSIONS)
        ):
            raise ValueError(
                f"connection {self.slug!r}: embedding_dimensions must be an integer from 1 to "
                f"{_MAX_EMBEDDING_DIMENSIONS}"
            )
        for name in ("threads", "max_queued"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"connection {self.slug!r}: {name} must be an integer >= 1")

    @property
    def anthropic_style(self) -> bool:
        """True when the connection serves Anthropic's ``/v1/messages``."""
        return provider_info(self.provider).anthropic_style


@dataclass(frozen=True)
class DenyRule:
    """A policy rule that denies a request (403, type ``policy_denied``, code = ``name``).

    Every criterion given must match (a rule with none denies everything): the caller's key id,
    the user, the connection slug, the bare model, each ``metadata`` entry (keys compare
    case-insensitively, as HTTP header names do), and ``pattern``, a regular expression searched
    over all the message text of the request (``re.search``; write ``(?i)`` for case-insensitive).
    """

    name: str
    key_id: str | None = None
    user: str | None = None
    connection: str | None = None
    model: str | None = None
    metadata: Mapping[str, str] | None = None
    pattern: str | None = None
    regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name("a deny rule's name", self.name)
        if self.metadata is not None:
            object.__setattr__(self, "metadata", dict(self.metadata))
        if self.pattern is not None:
            try:
                object.__setattr__(self, "regex", re.compile(self.pattern))
            except re.error as exc:
                raise ValueError(f"deny rule {self.name!r}: invalid pattern: {exc}") from None


@dataclass(frozen=True)
class RateLimitRule:
    """At most ``limit`` requests per ``window`` seconds, counted per key id, per user or per
    connection (``per``), optionally only on one ``connection``.

    The window slides: a request is refused (429, ``Retry-After``, code = ``name``) while
    ``limit`` requests of the same subject were accepted during the last ``window`` seconds.
    Refused requests do not count. Requests without a user share one anonymous bucket.
    """

    name: str
    limit: int
    window: float
    per: RateLimitPer = "key"
    connection: str | None = None

    def __post_init__(self) -> None:
        _check_name("a rate limit's name", self.name)
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"rate limit {self.name!r}: limit must be an integer >= 1")
        if (
            isinstance(self.window, bool)
            or not isinstance(self.window, int | float)
            or not (self.window > 0)
        ):
            raise ValueError(f"rate limit {self.name!r}: window must be a number of seconds > 0")
        if self.per not in get_args(RateLimitPer):
            raise ValueError(
                f"rate limit {self.name!r}: per must be one of {', '.join(get_args(RateLimitPer))}"
            )


DEFAULT_CONNECTIONS: tuple[ConnectionConfig, ...] = (
    ConnectionConfig("openai-prod", provider="openai"),
    ConnectionConfig("anthropic-prod", provider="anthropic"),
    ConnectionConfig("google-prod", provider="google"),
    # A real small model, served in-process (requests answer an error naming the extra
    # ``local-model`` when llama-cpp-python is not installed).
    ConnectionConfig("local", provider="llamacpp", backend="llama-cpp"),
)


def _tuple_of(kind: type, what: str, items: Iterable[object]) -> tuple[object, ...]:
    values = tuple(items)
    for item in values:
        if not isinstance(item, kind):
            raise TypeError(f"{what} must hold {kind.__name__} values, got {item!r}")
    return values


@dataclass(frozen=True)
class GatewayConfig:
    """The whole configuration of a local gateway.

    ``keys`` maps a key id (recorded in the audit trail) to the key itself; when empty, the
    gateway generates one ``ig_local_...`` key with id ``default``. ``connections`` defaults to
    ``openai-prod``, ``anthropic-prod`` and ``google-prod`` on the echo backend, and ``local`` on
    the llama-cpp backend (the bundled SmolLM2-135M-Instruct). ``audit_max_entries`` bounds the
    audit trail (the oldest entries are dropped past it).
    """

    keys: Mapping[str, str] = field(default_factory=dict)
    connections: tuple[ConnectionConfig, ...] = DEFAULT_CONNECTIONS
    deny: tuple[DenyRule, ...] = ()
    rate_limits: tuple[RateLimitRule, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    audit_max_entries: int = DEFAULT_AUDIT_MAX_ENTRIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", dict(self.keys))
        for key_id, key in self.keys.items():
            _check_name("a key id", key_id)
            _check_name(f"key {key_id!r}", key)
        if len(set(self.keys.values())) != len(self.keys):
            raise ValueError("the same key is listed under two key ids")
        # Lists are accepted for convenience; the stored value is an immutable tuple.
        object.__setattr__(
            self, "connections", _tuple_of(ConnectionConfig, "connections", self.connections)
        )
        object.__setattr__(self, "deny", _tuple_of(DenyRule, "deny", self.deny))
        object.__setattr__(
            self, "rate_limits", _tuple_of(RateLimitRule, "rate_limits", self.rate_limits)
        )
        slugs = [c.slug for c in self.connections]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate connection slugs: {', '.join(dupes)}")
        if (
            isinstance(self.max_body_bytes, bool)
            or not isinstance(self.max_body_bytes, int)
            or self.max_body_bytes < 1
        ):
            raise ValueError("max_body_bytes must be a positive integer")
        if (
            isinstance(self.audit_max_entries, bool)
            or not isinstance(self.audit_max_entries, int)
            or self.audit_max_entries < 1
        ):
            raise ValueError("audit_max_entries must be a positive integer")
