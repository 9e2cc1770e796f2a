"""The audit trail: one entry per HTTP request under ``/llm``, in arrival order, in a ring buffer
(the oldest entries are dropped, and counted, past its size)."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_AUDIT_MAX_ENTRIES", "AuditEntry", "AuditLog", "AuditStats", "RouteName"]

DEFAULT_AUDIT_MAX_ENTRIES = 10_000

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


@dataclass(frozen=True)
class AuditStats:
    """Counts about the audit trail: entries ``dropped`` from the ring buffer (oldest first) and
    ``unauthenticated`` calls (401) seen since the last reset."""

    dropped: int = 0
    unauthenticated: int = 0


class AuditLog:
    """A thread-safe ring buffer in arrival order: the server thread adds entries as calls
    finish, callers read snapshots. A call takes a ticket when it arrives, so a long stream that
    finishes after a later quick call still sits before it. Each recorded entry also gets a
    sequence number in recording order, so a reader can ask for what is new since its last look.
    """

    def __init__(self, max_entries: int = DEFAULT_AUDIT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._tickets = itertools.count()
        self._floor = 0  # calls that arrived before the last clear() are not recorded
        self._entries: list[tuple[int, int, AuditEntry]] = []
        self._seq = 0
        self._dropped = 0
        self._unauthenticated = 0

    def ticket(self) -> int:
        """The arrival number of a new call."""
        with self._lock:
            return next(self._tickets)

    def append(self, entry: AuditEntry, ticket: int | None = None) -> None:
        """Record one entry at its arrival position (at the end without a ticket); past
        ``max_entries`` the oldest entry is dropped."""
        with self._lock:
            if ticket is None:
                ticket = next(self._tickets)
            elif ticket < self._floor:
                # A call that arrived before a reset and finished after it (a stream whose
                # caller stopped reading at [DONE]): it belongs to the forgotten trail.
                return
            self._seq += 1
            if entry.status == 401:
                self._unauthenticated += 1
            bisect.insort(self._entries, (ticket, self._seq, entry), key=lambda item: item[0])
            if len(self._entries) > self.max_entries:
                excess = len(self._entries) - self.max_entries
                del self._entries[:excess]
                self._dropped += excess

    def snapshot(self) -> list[AuditEntry]:
        """A copy of the entries of the calls finished so far, in arrival order."""
        with self._lock:
            return [entry for _, _, entry in self._entries]

    def recorded_since(self, seq: int) -> list[tuple[int, AuditEntry]]:
        """``(sequence number, entry)`` of the entries recorded after ``seq``, in arrival order."""
        with self._lock:
            return [(s, entry) for _, s, entry in self._entries if s > seq]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def stats(self) -> AuditStats:
        """How many entries were dropped and how many calls were unauthenticated."""
        with self._lock:
            return AuditStats(self._dropped, self._unauthenticated)

    def clear(self) -> None:
        """Forget every entry and count, and the calls still running."""
        with self._lock:
            self._floor = next(self._tickets)
            self._entries.clear()
            self._dropped = self._unauthenticated = 0
