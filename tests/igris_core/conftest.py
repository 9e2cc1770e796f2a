"""Fixtures for igris_core unit tests: clients on mock transports (``delays`` is in the root
conftest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from igris_core import AsyncIgris, Igris
from tests.igris_core.helpers import Handler, Recorder


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
