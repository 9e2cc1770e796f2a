"""Fixtures of the langchain_igris tests: the root conftest's gateway, found through the
environment the way a LangChain user's models find theirs."""

from __future__ import annotations

import pytest

from igris_core.local_gateway import LocalGateway


@pytest.fixture
def gw(gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> LocalGateway:
    """The shared gateway, reset for this test; IGRIS_BASE_URL / IGRIS_API_KEY point at it."""
    monkeypatch.setenv("IGRIS_BASE_URL", gw.base_url)
    monkeypatch.setenv("IGRIS_API_KEY", gw.api_key)
    return gw
