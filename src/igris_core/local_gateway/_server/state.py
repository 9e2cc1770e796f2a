"""The running gateway's mutable state: keys, connections, rules, scripted replies, faults, audit.

The server thread reads it while the caller's thread changes it (``gw.deny(...)`` during a
test), so every access goes through one lock. :meth:`GatewayState.reset` returns to the
configuration the gateway started with.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Iterable
from typing import TypeVar

from igris_core.local_gateway._audit.trail import AuditLog
from igris_core.local_gateway._backends.scripted import ScriptedReply
from igris_core.local_gateway._config.settings import (
    ConnectionConfig,
    DenyRule,
    GatewayConfig,
    RateLimitRule,
)
from igris_core.local_gateway._policy.auth import match_key
from igris_core.local_gateway._policy.faults import Fault, FaultPlan, FaultState, plan_faults
from igris_core.local_gateway._policy.ratelimit import RateLimiter

__all__ = ["GENERATED_KEY_PREFIX", "GatewayState", "generate_key"]

GENERATED_KEY_PREFIX = "ig_local_"


def generate_key() -> str:
    """A fresh random key in the local gateway's recognisable form."""
    return GENERATED_KEY_PREFIX + secrets.token_hex(16)


class GatewayState:
    """What one gateway knows, shared by its server thread and its callers."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        # A generated key is made once, so it survives reset() and restarts.
        self._initial_keys = dict(config.keys) or {"default": generate_key()}
        self.audit = AuditLog(config.audit_max_entries)
        # Set when the server is asked to stop: calls sleeping on an injected latency end now.
        self.closing = threading.Event()
        self.limiter = RateLimiter()
        self._lock = threading.RLock()
        self._load()

    def _load(self) -> None:
        self._keys = {key: key_id for key_id, key in self._initial_keys.items()}
        self._connections = {c.slug: c for c in self.config.connections}
        self._deny: list[DenyRule] = list(self.config.deny)
        self._rate_limits: list[RateLimitRule] = list(self.config.rate_limits)
        self._scripts = {c.slug: deque(c.script) for c in self.config.connections if c.script}
        self._faults: dict[str, list[FaultState]] = {}

    def reset(self) -> None:
        """Back to the starting configuration: runtime additions, queues, faults, rate-limit
        counts and the audit trail are forgotten."""
        with self._lock:
            self._load()
        self.limiter.clear()
        self.audit.clear()

    @property
    def primary_key(self) -> str:
        """The first configured key (or the generated one)."""
        return next(iter(self._initial_keys.values()))

    @property
    def max_body_bytes(self) -> int:
        """The largest request body accepted."""
        return self.config.max_body_bytes

    # --- keys -----------------------------------------------------------------------------------
    def key_id(self, key: str) -> str | None:
        """The id of a valid key, ``None`` for an unknown one (compared in constant time)."""
        with self._lock:
            keys = dict(self._keys)
        return match_key(key, keys)

    def add_key(self, key: str | None, key_id: str | None) -> str:
        """Accept one more key; returns it (generated when ``key`` is ``None``)."""
        key = key or generate_key()
        with self._lock:
            if key_id is None:
                taken = set(self._keys.values())
                n = len(taken) + 1
                while f"key-{n}" in taken:
                    n += 1
                key_id = f"key-{n}"
            self._keys[key] = key_id
        return key

    # --- connections ----------------------------------------------------------------------------
    def connection(self, slug: str | None) -> ConnectionConfig | None:
        """The connection ``slug``, if there is one."""
        with self._lock:
            return self._connections.get(slug) if slug is not None else None

    def connection_slugs(self) -> list[str]:
        """The slugs of the connections served, sorted."""
        with self._lock:
            return sorted(self._connections)

    def add_connection(self, connection: ConnectionConfig) -> None:
        """Add a connection (replacing one with the same slug)."""
        with self._lock:
            self._connections[connection.slug] = connection
            if connection.script:
                self._scripts[connection.slug] = deque(connection.script)

    def _require(self, slug: str) -> None:
        if slug not in self._connections:
            known = ", ".join(sorted(self._connections)) or "none"
            raise ValueError(f"unknown connection {slug!r}; connections: {known}")

    # --- rules ----------------------------------------------------------------------------------
    def deny_rules(self) -> tuple[DenyRule, ...]:
        """The deny rules, in the order they were added."""
        with self._lock:
            return tuple(self._deny)

    def add_deny_rule(self, rule: DenyRule) -> None:
        """Add a deny rule (replacing one with the same name, in its place)."""
        with self._lock:
            self._deny = _replace_or_append(self._deny, rule)

    def rate_limits(self) -> tuple[RateLimitRule, ...]:
        """The rate-limit rules."""
        with self._lock:
            return tuple(self._rate_limits)

    def add_rate_limit(self, rule: RateLimitRule) -> None:
        """Add a rate limit (replacing one with the same name, in its place)."""
        with self._lock:
            self._rate_limits = _replace_or_append(self._rate_limits, rule)

    # --- scripted replies -------------------------------------------------------------------------
    def enqueue(self, slug: str, replies: Iterable[ScriptedReply]) -> None:
        """Queue scripted replies for a connection."""
        with self._lock:
            self._require(slug)
            self._scripts.setdefault(slug, deque()).extend(replies)

    def has_scripted(self, slug: str) -> bool:
        """Whether a scripted reply is queued for the connection."""
        with self._lock:
            return bool(self._scripts.get(slug))

    def next_scripted(self, slug: str) -> ScriptedReply | None:
        """Pop the connection's next scripted reply, if any (a looping script starts over)."""
        with self._lock:
            queue = self._scripts.get(slug)
            if not queue:
                connection = self._connections.get(slug)
                if connection is None or not connection.script_loop:
                    return None
                queue = self._scripts[slug] = deque(connection.script)
            return queue.popleft()

    # --- faults ---------------------------------------------------------------------------------
    def inject_fault(self, slug: str, fault: Fault) -> None:
        """Add a fault to a connection (after the ones already there)."""
        with self._lock:
            self._require(slug)
            self._faults.setdefault(slug, []).append(FaultState(fault))

    def plan_faults(self, slug: str, route: str, stream: bool) -> FaultPlan:
        """Draw what the connection's faults do to one call."""
        with self._lock:
            return plan_faults(self._faults.get(slug, []), route, stream)


_Rule = TypeVar("_Rule", DenyRule, RateLimitRule)


def _replace_or_append(rules: list[_Rule], rule: _Rule) -> list[_Rule]:
    if any(r.name == rule.name for r in rules):
        return [rule if r.name == rule.name else r for r in rules]
    extended = list(rules)
    extended.append(rule)
    return extended
