"""Fixtures of the local gateway tests: an HTTP client of the root conftest's gateway."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from igris_core.local_gateway import LocalGateway


@pytest.fixture
def client(gw: LocalGateway) -> Iterator[httpx.Client]:
    """An HTTP client for the gateway, authenticated with its key."""
    with httpx.Client(
        base_url=gw.base_url, headers={"Authorization": f"Bearer {gw.api_key}"}, timeout=10
    ) as http:
        yield http
