"""Fixtures for the adapter tests: Igris clients for the mock transports, and the offline local
gateway (one per session, reset before each test) for the real-HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from igris_core import AsyncIgris, Igris
from igris_core.local_gateway import LocalGateway
from igris_core.testing import igris_gateway, igris_gateway_session
from tests.adapters.helpers import GATEWAY, IGRIS_KEY

__all__ = ["igris_gateway", "igris_gateway_session"]


@pytest.fixture
def igris() -> Iterator[Igris]:
    """An Igris client for the mock-transport tests (it never sends a request itself)."""
    with Igris(IGRIS_KEY, base_url=GATEWAY) as client:
        yield client


@pytest.fixture
def gw(igris_gateway: LocalGateway) -> LocalGateway:
    """The session's local gateway, reset for this test."""
    return igris_gateway


@pytest.fixture
def gw_igris(gw: LocalGateway) -> Iterator[Igris]:
    """An Igris client for the local gateway, with a default trace id and metadata."""
    with Igris(
        gw.api_key, base_url=gw.base_url, trace_id="default-trace", metadata={"suite": "adapters"}
    ) as client:
        yield client


@pytest.fixture
async def gw_aigris(gw: LocalGateway) -> AsyncIterator[AsyncIgris]:
    """The async Igris client for the local gateway."""
    async with AsyncIgris(
        gw.api_key, base_url=gw.base_url, trace_id="default-trace", metadata={"suite": "adapters"}
    ) as client:
        yield client
