"""Fixtures of the local gateway tests: the plugin's gateway fixtures and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from igris_core.local_gateway import LocalGateway
from igris_core.testing import igris_gateway, igris_gateway_session

__all__ = ["igris_gateway", "igris_gateway_session"]  # re-exported fixtures


@pytest.fixture
def gw(igris_gateway: LocalGateway) -> LocalGateway:
    """The shared gateway, reset for this test."""
    return igris_gateway


@pytest.fixture
def client(gw: LocalGateway) -> Iterator[httpx.Client]:
    """An HTTP client for the gateway, authenticated with its key."""
    with httpx.Client(
        base_url=gw.base_url, headers={"Authorization": f"Bearer {gw.api_key}"}, timeout=10
    ) as http:
        yield http
