"""Fixtures every test directory shares; a directory's own conftest keeps only what is its own.

``igris_core.testing`` (the package's pytest plugin, not auto-loaded) gives ``igris_gateway``
(the session's local gateway, reset before each test) and ``igris_gateway_session``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from igris_core.local_gateway import LocalGateway

pytest_plugins = ["igris_core.testing"]

_IGRIS_SETTINGS = ("IGRIS_API_KEY", "IGRIS_BASE_URL")


@pytest.fixture
def no_igris_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Igris settings leak in from the shell: ``IGRIS_API_KEY`` and ``IGRIS_BASE_URL`` unset."""
    for name in _IGRIS_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def gw(igris_gateway: LocalGateway, no_igris_env: None) -> LocalGateway:
    """The session's local gateway, reset for this test, with no Igris settings from the shell
    (a test reaches it through its ``base_url`` and ``api_key``)."""
    return igris_gateway


@dataclass(frozen=True)
class Delay:
    """One call of ``retry_delay``: the retry number, the server's Retry-After, and the wait
    the real function would have chosen."""

    attempt: int
    retry_after: float | None
    wait: float


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[Delay]:
    """Retries wait no real time; every wait the client would have made is recorded."""
    import igris_core._transport as transport
    from igris_core._retries import retry_delay

    seen: list[Delay] = []

    def fake(attempt: int, retry_after: float | None) -> float:
        seen.append(Delay(attempt, retry_after, retry_delay(attempt, retry_after)))
        return 0.0

    monkeypatch.setattr(transport, "retry_delay", fake)
    return seen
