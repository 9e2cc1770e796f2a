"""Fixtures for igris_core unit tests: mock transports and instant retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from igris_core import AsyncIgris, Igris
from tests.igris_core.helpers import Handler, Recorder


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries wait no real time; the delays they would have waited are recorded."""
    import igris_core._transport as transport
    from igris_core._retries import retry_delay

    seen: list[float] = []

    def fake(attempt: int, retry_after: float | None) -> float:
        seen.append(retry_delay(attempt, retry_after))
        return 0.0

    monkeypatch.setattr(transport, "retry_delay", fake)
    return seen


@pytest.fixture
def make_client() -> Callable[..., tuple[Igris, Recorder]]:
    def make(handler: Handler, **kwargs: Any) -> tuple[Igris, Recorder]:
        rec = Recorder(handler)
        kwargs.setdefault("base_url", "https://gw.test")
        client = Igris(
            "ig_test_secret_key",
            http_client=httpx.Client(transport=httpx.MockTransport(rec)),
            **kwargs,
        )
        return client, rec

    return make


@pytest.fixture
def make_async_client() -> Callable[..., tuple[AsyncIgris, Recorder]]:
    def make(handler: Handler, **kwargs: Any) -> tuple[AsyncIgris, Recorder]:
        rec = Recorder(handler)
        kwargs.setdefault("base_url", "https://gw.test")
        client = AsyncIgris(
            "ig_test_secret_key",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(rec)),
            **kwargs,
        )
        return client, rec

    return make
