"""When to retry and how long to wait (docs/protocol.md, "Retries")."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

import httpx

from igris_core import protocol

__all__ = ["parse_retry_after", "retry_delay", "should_retry_status"]


def should_retry_status(status: int) -> bool:
    """408, 429, 500, 502, 503 and 504 are retried; every other status is final."""
    return status in protocol.RETRYABLE_STATUSES


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get(protocol.RETRY_AFTER_MS_HEADER)
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get(protocol.RETRY_AFTER_HEADER)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry number ``attempt`` (0-based): the server's ``Retry-After`` when it
    gave one (capped), else exponential backoff with jitter."""
    if retry_after is not None:
        return min(retry_after, protocol.RETRY_AFTER_CAP)
    base = min(protocol.RETRY_MAX_DELAY, protocol.RETRY_INITIAL_DELAY * (2.0**attempt))
    return base * (1.0 - 0.25 * random.random())
