"""Rate limits with a sliding window: at most ``limit`` accepted requests per subject during the
last ``window`` seconds. Only accepted requests count."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from igris_core import protocol
from igris_core.local_gateway._config.settings import RateLimitRule
from igris_core.local_gateway._policy.deny import RequestFacts
from igris_core.local_gateway._wire.errors import GatewayError, retry_after_seconds

__all__ = ["RateLimiter"]


def _subject(rule: RateLimitRule, facts: RequestFacts) -> str:
    if rule.per == "key":
        return facts.key_id or ""
    if rule.per == "user":
        return facts.user or ""  # requests without a user share one anonymous bucket
    return facts.connection or ""


class RateLimiter:
    """Counts accepted requests per (rule, subject). Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._hits.clear()

    def check(self, rules: Iterable[RateLimitRule], facts: RequestFacts) -> None:
        """Count the request against every rule that applies, or raise the 429 of the first
        rule it would exceed (then nothing is counted)."""
        now = self._clock()
        with self._lock:
            buckets: list[deque[float]] = []
            for rule in rules:
                if rule.connection is not None and rule.connection != facts.connection:
                    continue
                bucket = self._hits.setdefault((rule.name, _subject(rule, facts)), deque())
                while bucket and bucket[0] <= now - rule.window:
                    bucket.popleft()
                if len(bucket) >= rule.limit:
                    wait = bucket[0] + rule.window - now
                    raise GatewayError(
                        429,
                        f"rate limit '{rule.name}' exceeded: {rule.limit} requests per "
                        f"{rule.window:g} s per {rule.per}",
                        code=rule.name,
                        rule=rule.name,
                        headers={protocol.RETRY_AFTER_HEADER: str(retry_after_seconds(wait))},
                    )
                buckets.append(bucket)
            for bucket in buckets:
                bucket.append(now)
