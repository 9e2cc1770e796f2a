"""What the gateway learns about one request while serving it; becomes its audit entry."""

from __future__ import annotations

import time as _time
import uuid
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.requests import HTTPConnection

from igris_core import decode_header_value, protocol
from igris_core.local_gateway._audit.trail import AuditEntry, RouteName
from igris_core.local_gateway._policy.deny import RequestFacts
from igris_core.local_gateway._server.routes import classify_path, is_audited

__all__ = ["CONTEXT_SCOPE_KEY", "RequestContext", "context_of", "new_context"]

CONTEXT_SCOPE_KEY = "igris.context"

_USER = protocol.USER_HEADER.lower().encode("latin-1")
_TRACE = protocol.TRACE_ID_HEADER.lower().encode("latin-1")
_META = protocol.METADATA_HEADER_PREFIX.lower().encode("latin-1")
_TRACEPARENT = protocol.TRACEPARENT_HEADER.lower().encode("latin-1")


def _header_text(raw: bytes) -> str:
    # Clients should percent-encode non-ASCII; raw UTF-8 is still read as UTF-8, not latin-1.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return decode_header_value(text)


@dataclass
class RequestContext:
    """The facts about one request, filled in as it is served."""

    request_id: str
    method: str
    path: str
    route: RouteName
    slug: str | None
    user: str | None
    trace_id: str | None
    metadata: dict[str, str]
    ticket: int | None = None
    traceparent: str | None = None
    time: float = field(default_factory=_time.time)
    started: float = field(default_factory=_time.perf_counter)
    key_id: str | None = None
    model: str | None = None
    stream: bool = False
    usage: dict[str, int] | None = None
    # Usage of a stream still being relayed (read when the entry is written before it ends).
    usage_source: Callable[[], dict[str, int]] | None = None
    error_type: str | None = None
    rule: str | None = None
    status: int = 0
    recorded: bool = False

    @property
    def audited(self) -> bool:
        """Whether this request gets an audit entry."""
        return is_audited(self.path)

    def facts(self, text: str) -> RequestFacts:
        """What the policies see of this request."""
        return RequestFacts(self.key_id, self.user, self.slug, self.model, self.metadata, text)

    def _usage(self) -> dict[str, int] | None:
        if self.usage is not None:
            return dict(self.usage)
        return self.usage_source() if self.usage_source is not None else None

    def entry(self) -> AuditEntry:
        """The audit entry for the request as served so far. An unauthenticated call keeps no
        identity, model or metadata: anyone can send those, so they are not worth memory."""
        anonymous = self.key_id is None
        return AuditEntry(
            time=self.time,
            request_id=self.request_id,
            key_id=self.key_id,
            connection=self.slug,
            model=None if anonymous else self.model,
            route=self.route,
            method=self.method,
            path=self.path,
            status=self.status,
            user=None if anonymous else self.user,
            trace_id=None if anonymous else self.trace_id,
            metadata={} if anonymous else dict(self.metadata),
            usage=self._usage(),
            stream=self.stream,
            duration_ms=(_time.perf_counter() - self.started) * 1000.0,
            error_type=self.error_type,
            rule=self.rule,
            traceparent=None if anonymous else self.traceparent,
        )


def new_context(scope: MutableMapping[str, Any], ticket: int | None = None) -> RequestContext:
    """Start the context of a request: request id, route, and identity headers decoded."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
    user = trace_id = traceparent = None
    metadata: dict[str, str] = {}
    for name, value in headers:
        if name == _USER:
            user = _header_text(value)
        elif name == _TRACE:
            trace_id = _header_text(value)
        elif name == _TRACEPARENT:
            traceparent = value.decode("latin-1")
        elif name.startswith(_META) and len(name) > len(_META):
            metadata[name[len(_META) :].decode("latin-1")] = _header_text(value)
    path = str(scope.get("path", ""))
    route, slug = classify_path(path)
    return RequestContext(
        request_id="req_" + uuid.uuid4().hex,
        method=str(scope.get("method", "")),
        path=path,
        route=route,
        slug=slug,
        user=user,
        trace_id=trace_id,
        metadata=metadata,
        ticket=ticket,
        traceparent=traceparent,
    )


def context_of(request: HTTPConnection) -> RequestContext:
    """The context the gateway middleware attached to this request."""
    return cast(RequestContext, request.scope[CONTEXT_SCOPE_KEY])
