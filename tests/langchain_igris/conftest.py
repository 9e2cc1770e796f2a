"""Fixtures of the langchain_igris tests: the local gateway (one per session, reset per test)."""

from __future__ import annotations

import pytest

from igris_core.local_gateway import LocalGateway
from igris_core.testing import igris_gateway, igris_gateway_session

__all__ = ["igris_gateway", "igris_gateway_session"]  # re-exported fixtures


@pytest.fixture
def gw(igris_gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> LocalGateway:
    """The shared gateway, reset for this test; IGRIS_BASE_URL / IGRIS_API_KEY point at it."""
    monkeypatch.setenv("IGRIS_BASE_URL", igris_gateway.base_url)
    monkeypatch.setenv("IGRIS_API_KEY", igris_gateway.api_key)
    return igris_gateway
