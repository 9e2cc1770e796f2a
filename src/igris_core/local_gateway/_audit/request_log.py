"""One log line per call: what a developer watching the gateway's terminal needs to see.

Logged at INFO on the ``igris_core.local_gateway.requests`` logger, after the audit entry is
written. The CLI shows these lines by default; an embedded :class:`LocalGateway` leaves its
host's logging alone (enable the logger to see them). Values that came from the caller are
quoted and escaped, so a header cannot forge a second log line.
"""

from __future__ import annotations

import json
import logging
import re
import time

from igris_core.local_gateway._audit.trail import AuditEntry

__all__ = ["REQUEST_LOGGER", "format_entry", "log_entry"]

REQUEST_LOGGER = logging.getLogger("igris_core.local_gateway.requests")

_PLAIN = re.compile(r"[\w.@:/+=-]{1,200}")
_MAX_VALUE = 200


def _value(value: str | None) -> str:
    if value is None:
        return "-"
    if _PLAIN.fullmatch(value):
        return value
    if len(value) > _MAX_VALUE:
        value = value[:_MAX_VALUE] + "…"
    return json.dumps(value, ensure_ascii=True)  # quoted, control characters escaped


def format_entry(entry: AuditEntry) -> str:
    """The log line of one audit entry (without the logger's own prefix)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.time))
    usage = entry.usage or {}
    tokens = (
        f"{usage.get('prompt_tokens', 0)}/{usage.get('completion_tokens', 0)}" if usage else "-"
    )
    where = entry.connection or "-"
    if entry.model:
        where += "/" + entry.model
    line = (
        f"{stamp} {entry.status} {entry.method} {_value(entry.path)} {_value(where)}"
        f" user={_value(entry.user)} trace={_value(entry.trace_id)} tokens={tokens}"
        f" {entry.duration_ms:.1f}ms {entry.request_id}"
    )
    if entry.traceparent:
        line += f" traceparent={_value(entry.traceparent)}"
    if entry.stream:
        line += " stream"
    if entry.rule:
        line += f" rule={_value(entry.rule)}"
    elif entry.error_type:
        line += f" error={_value(entry.error_type)}"
    return line


def log_entry(entry: AuditEntry) -> None:
    """Log the line of one call, when the request logger is enabled for INFO."""
    if REQUEST_LOGGER.isEnabledFor(logging.INFO):
        REQUEST_LOGGER.info("%s", format_entry(entry))
