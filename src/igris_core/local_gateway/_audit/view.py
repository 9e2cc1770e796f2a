"""The audit trail as scripts and the audit page read it: filters and JSON entries."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from igris_core.local_gateway._audit.trail import AuditEntry, AuditLog

__all__ = ["DEFAULT_LIMIT", "AuditFilter", "entries_json"]

DEFAULT_LIMIT = 500
_MAX_LIMIT = 10_000
_STATUS = re.compile(r"([1-5])(?:xx|\d\d)", re.IGNORECASE)


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: exact ``user``, ``trace_id`` and ``connection``, and ``status``
    as a code (``403``) or a class (``4xx``). Unset fields match everything."""

    user: str | None = None
    trace_id: str | None = None
    connection: str | None = None
    status: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> AuditFilter:
        """A filter from query parameters; ``ValueError`` for a status that is neither form."""
        status = params.get("status") or None
        if status is not None and _STATUS.fullmatch(status.strip()) is None:
            raise ValueError(
                f"status must be a code such as 403 or a class such as 4xx: {status!r}"
            )
        return cls(
            user=params.get("user") or None,
            trace_id=params.get("trace_id") or None,
            connection=params.get("connection") or None,
            status=status.strip().lower() if status else None,
        )

    def matches(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` passes every criterion set."""
        if self.user is not None and entry.user != self.user:
            return False
        if self.trace_id is not None and entry.trace_id != self.trace_id:
            return False
        if self.connection is not None and entry.connection != self.connection:
            return False
        if self.status is not None:
            if self.status.endswith("xx"):
                return str(entry.status).startswith(self.status[0])
            return str(entry.status) == self.status
        return True


def entries_json(
    log: AuditLog, audit_filter: AuditFilter, *, after: int = 0, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """The entries recorded after sequence number ``after`` that pass the filter, newest first
    (at most ``limit``), with the trail's counts. ``last`` is the sequence number to pass as
    ``after`` next time."""
    recorded = log.recorded_since(after)
    limit = max(1, min(limit, _MAX_LIMIT))
    chosen = [(seq, e) for seq, e in reversed(recorded) if audit_filter.matches(e)][:limit]
    stats = log.stats
    return {
        "entries": [{"seq": seq, **dataclasses.asdict(entry)} for seq, entry in chosen],
        "last": max((seq for seq, _ in recorded), default=after),
        "total": len(log),
        "dropped": stats.dropped,
        "unauthenticated": stats.unauthenticated,
    }
