"""pytest fixtures backed by an offline Igris gateway. Opt in from a root ``conftest.py``::

    pytest_plugins = ["igris_core.testing"]

Then::

    def test_chat(igris_gateway):
        client = openai.OpenAI(
            base_url=igris_gateway.connection_url("openai-prod"), api_key=igris_gateway.api_key
        )
        ...
        assert igris_gateway.audit[-1].status == 200

``igris_gateway_session`` is one gateway for the whole session; ``igris_gateway`` is the same
gateway, ``reset()`` before each test (so rules, scripts, faults and the audit trail of one test
never leak into the next). The plugin is never loaded unless a project asks for it, and nothing
else in the package imports this module, so pytest is needed only by projects that use it (it
is not a dependency of the package). The local gateway needs the ``local-gateway`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator

try:
    import pytest
except ImportError:  # pragma: no cover - exercised in a subprocess without pytest
    raise ImportError(
        "igris_core.testing is a pytest plugin and needs pytest, which is not installed; "
        "install it with: pip install pytest"
    ) from None

from igris_core.local_gateway import LocalGateway

__all__ = ["igris_gateway", "igris_gateway_session"]


@pytest.fixture(scope="session")
def igris_gateway_session() -> Iterator[LocalGateway]:
    """One running local gateway (default configuration) for the whole test session."""
    with LocalGateway() as gateway:
        yield gateway


@pytest.fixture
def igris_gateway(igris_gateway_session: LocalGateway) -> LocalGateway:
    """The session's gateway, reset to its starting configuration before the test."""
    igris_gateway_session.reset()
    return igris_gateway_session
