"""When to retry and how long to wait (docs/protocol.md, "Retries")."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime

import httpx

from igris_core import protocol

__all__ = ["parse_retry_after", "retry_delay", "should_retry_status"]


def should_retry_status(status: int) -> bool:
    """408, 429, 500, 502, 503 and 504 are retried; every other status is final."""
    return status in protocol.RETRYABLE_STATUSES


_SECONDS_RE = re.compile(r"[0-9]+")
_MILLIS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (RFC 9110: digits, or an HTTP
    date in the future), capped at :data:`~igris_core.protocol.RETRY_AFTER_CAP`.

    Anything else (``nan``, ``-5``, ``inf``, ``1_0``, ``2.5e9``, a past or malformed date) is
    ignored: ``None``, and the caller falls back on its own backoff.
    """
    millis = (headers.get(protocol.RETRY_AFTER_MS_HEADER) or "").strip()
    if _MILLIS_RE.fullmatch(millis):
        return min(float(millis) / 1000.0, protocol.RETRY_AFTER_CAP)
    value = (headers.get(protocol.RETRY_AFTER_HEADER) or "").strip()
    if not value:
        return None
    if _SECONDS_RE.fullmatch(value):
        return min(float(value), protocol.RETRY_AFTER_CAP)
    if value[:1].isdigit():  # not a date, and not the digits-only form
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses without a zone
        return None
    wait = when.timestamp() - time.time()
    return min(wait, protocol.RETRY_AFTER_CAP) if wait > 0 else None


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry number ``attempt`` (0-based): the server's ``Retry-After`` when it
    gave one (capped), else exponential backoff with jitter."""
    if retry_after is not None:
        return min(retry_after, protocol.RETRY_AFTER_CAP)
    base = min(protocol.RETRY_MAX_DELAY, protocol.RETRY_INITIAL_DELAY * (2.0**attempt))
    return base * (1.0 - 0.25 * random.random())
