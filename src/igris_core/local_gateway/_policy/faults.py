"""Fault injection per connection: errors, latency, broken streams and provider-shaped streams.

Faults of a connection are considered in the order they were injected. For each call, a fault
*applies* when the call's route is in its ``routes`` and, for a fault that only changes streams
(``cut_after``, ``end_after``, ``error_event_after``, ``stream_shape``), when the call streams.
An applying fault *fires* unless its ``times`` are used up or its seeded ``probability`` roll says
no. Latencies of the faults that fire add up; the first one carrying an error status (and no
stream change) answers that status, and the faults after it are not drawn for that call; for
each stream change the first fault setting it wins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from igris_core import protocol
from igris_core.local_gateway._wire.errors import GatewayError, format_retry_after
from igris_core.local_gateway._wire.stream_shapes import STREAM_SHAPES, StreamShape

__all__ = ["FAULT_ROUTES", "Fault", "FaultPlan", "FaultState", "StreamPlan", "plan_faults"]

FAULT_ROUTES = ("chat", "embeddings", "messages")


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to inject on a connection (see :meth:`LocalGateway.inject_fault`).

    Args:
        status: answer this HTTP status with the protocol's error body. With a stream change it
            only sets the type of the mid-stream error event.
        times: fire on the first N applying calls only (``None``: on every one).
        probability: fire with this probability, drawn from ``random.Random(seed)``.
        seed: seed of the probability draws, so a run is reproducible.
        retry_after: ``Retry-After`` written as given (0 and fractions included).
        latency: seconds to wait before answering.
        cut_after: drop the TCP connection after K stream events (no ``[DONE]``).
        end_after: end the stream cleanly after K events, without ``[DONE]``.
        error_event_after: send ``data: {"error": {...}}`` after K events, then end.
        malformed_json: a 200 whose JSON body (or first stream event) is not valid JSON.
        stream_shape: reshape chat streams like a non-OpenAI provider
            (:mod:`~igris_core.local_gateway._wire.stream_shapes`).
        routes: the routes it applies to: ``"chat"``, ``"embeddings"``, ``"messages"``.
    """

    status: int | None = None
    times: int | None = None
    probability: float | None = None
    seed: int = 0
    retry_after: float | None = None
    latency: float = 0.0
    cut_after: int | None = None
    end_after: int | None = None
    error_event_after: int | None = None
    malformed_json: bool = False
    stream_shape: StreamShape | None = None
    routes: tuple[str, ...] = FAULT_ROUTES

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"Fault.status must be a 4xx or 5xx status, got {self.status}")
        if self.times is not None and self.times < 0:
            raise ValueError("Fault.times must be >= 0")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("Fault.probability must be between 0 and 1")
        if self.latency < 0:
            raise ValueError("Fault.latency must be >= 0")
        for name in ("cut_after", "end_after", "error_event_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"Fault.{name} must be >= 0")
        if self.stream_shape is not None and self.stream_shape not in STREAM_SHAPES:
            known = ", ".join(sorted(STREAM_SHAPES))
            raise ValueError(f"unknown stream_shape {self.stream_shape!r}; known: {known}")
        routes = tuple(self.routes)
        object.__setattr__(self, "routes", routes)
        unknown = set(routes) - set(FAULT_ROUTES)
        if unknown:
            raise ValueError(f"unknown fault routes {sorted(unknown)}; known: {FAULT_ROUTES}")

    @property
    def changes_stream(self) -> bool:
        """True when the fault only makes sense on a streaming answer."""
        return any(
            v is not None
            for v in (self.cut_after, self.end_after, self.error_event_after, self.stream_shape)
        )

    def error(self) -> GatewayError:
        """The error answer (or mid-stream error event) this fault stands for."""
        status = self.status or 500
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers[protocol.RETRY_AFTER_HEADER] = format_retry_after(self.retry_after)
        return GatewayError(
            status, f"injected fault: HTTP {status}", code="fault_injected", headers=headers
        )


@dataclass
class FaultState:
    """A fault and its counters on one connection."""

    fault: Fault
    fired: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.fault.seed)

    def applies(self, route: str, stream: bool) -> bool:
        """Whether the fault concerns this call at all."""
        return route in self.fault.routes and (stream or not self.fault.changes_stream)

    def fires(self) -> bool:
        """Draw whether it fires on this call, and count it when it does."""
        if self.fault.times is not None and self.fired >= self.fault.times:
            return False
        if self.fault.probability is not None and self.rng.random() >= self.fault.probability:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class StreamPlan:
    """How to break or reshape one streaming answer."""

    cut_after: int | None = None
    end_after: int | None = None
    error_event_after: int | None = None
    error: GatewayError | None = None
    malformed_json: bool = False
    shape: StreamShape | None = None


@dataclass(frozen=True)
class FaultPlan:
    """What the faults that fired do to one call."""

    latency: float = 0.0
    error: GatewayError | None = None
    malformed_json: bool = False
    stream: StreamPlan = field(default_factory=StreamPlan)


def plan_faults(states: list[FaultState], route: str, stream: bool) -> FaultPlan:
    """Draw the faults of a connection for one call (the caller holds the state lock)."""
    latency = 0.0
    error: GatewayError | None = None
    malformed = False
    picks: dict[str, Any] = {}
    for state in states:
        if not state.applies(route, stream) or not state.fires():
            continue
        fault = state.fault
        latency += fault.latency
        malformed = malformed or fault.malformed_json
        if fault.changes_stream:
            for name in ("cut_after", "end_after", "error_event_after", "stream_shape"):
                value = getattr(fault, name)
                if value is not None and name not in picks:
                    picks[name] = value
                    if name == "error_event_after":
                        picks["error"] = fault.error()
        elif fault.status is not None:
            error = fault.error()
            break  # the call is answered: later faults are not drawn (nor used up)
    return FaultPlan(
        latency=latency,
        error=error,
        malformed_json=malformed,
        stream=StreamPlan(
            cut_after=picks.get("cut_after"),
            end_after=picks.get("end_after"),
            error_event_after=picks.get("error_event_after"),
            error=picks.get("error"),
            malformed_json=malformed,
            shape=picks.get("stream_shape"),
        ),
    )
