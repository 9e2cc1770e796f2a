"""The audit trail: one entry per HTTP request under ``/llm``, in arrival order."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["AuditEntry", "AuditLog", "RouteName"]

RouteName = Literal["chat", "embeddings", "messages", "providers", "unknown"]


@dataclass(frozen=True)
class AuditEntry:
    """What the gateway recorded about one call, whatever its outcome (401, 403, 500 included).

    ``metadata`` keys are the ``X-Igris-Metadata-<key>`` suffixes as received (HTTP servers hand
    header names over lowercased); values are decoded. ``usage`` holds ``prompt_tokens``,
    ``completion_tokens`` and ``total_tokens`` when the call produced an answer. ``rule`` names the
    deny rule or rate limit that refused the call. ``trace_id`` and ``traceparent`` are the
    ``X-Igris-Trace-Id`` and W3C ``traceparent`` headers as received, so an entry can be found
    from the application's own traces.
    """

    time: float
    request_id: str
    key_id: str | None
    connection: str | None
    model: str | None
    route: RouteName
    method: str
    path: str
    status: int
    user: str | None
    trace_id: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, int] | None = None
    stream: bool = False
    duration_ms: float = 0.0
    error_type: str | None = None
    rule: str | None = None
    traceparent: str | None = None


class AuditLog:
    """A thread-safe list in arrival order: the server thread adds entries as calls finish,
    callers read snapshots. A call takes a ticket when it arrives, so a long stream that
    finishes after a later quick call still sits before it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets = itertools.count()
        self._entries: list[tuple[int, AuditEntry]] = []

    def ticket(self) -> int:
        """The arrival number of a new call."""
        with self._lock:
            return next(self._tickets)

    def append(self, entry: AuditEntry, ticket: int | None = None) -> None:
        """Record one entry at its arrival position (at the end without a ticket)."""
        with self._lock:
            if ticket is None:
                ticket = next(self._tickets)
            bisect.insort(self._entries, (ticket, entry), key=lambda item: item[0])

    def snapshot(self) -> list[AuditEntry]:
        """A copy of the entries of the calls finished so far, in arrival order."""
        with self._lock:
            return [entry for _, entry in self._entries]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
