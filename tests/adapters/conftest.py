"""Fixtures for the adapter tests: Igris clients for the mock transports, and clients of the
offline local gateway (``gw``, from the root conftest) for the real-HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from igris_core import AsyncIgris, Igris
from igris_core.local_gateway import LocalGateway
from tests.adapters.helpers import GATEWAY, IGRIS_KEY


@pytest.fixture
def igris() -> Iterator[Igris]:
    """An Igris client for the mock-transport tests (it never sends a request itself)."""
    with Igris(IGRIS_KEY, base_url=GATEWAY) as client:
        yield client


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
