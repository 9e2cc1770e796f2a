"""``client.llm_providers``: the providers registered on the gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from igris_core._requests import parse_providers, prepare_providers
from igris_core.types._providers import LlmProviderInfo

if TYPE_CHECKING:
    from igris_core._client import AsyncIgris, Igris

__all__ = ["AsyncLlmProviders", "LlmProviders"]


class LlmProviders:
    """``GET /llm/providers``."""

    def __init__(self, client: Igris) -> None:
        self._client = client

    def list(self) -> list[LlmProviderInfo]:
        """Every registered provider, as :class:`~igris_core.LlmProviderInfo`: ``slug``,
        ``name``, ``base_url``, ``auth_style`` and ``supported_endpoints``.

        Example::

            for p in client.llm_providers.list():
                print(p.slug, p.name, p.auth_style, p.supported_endpoints)
        """
        client = self._client
        return parse_providers(
            client._transport.request(client._options, prepare_providers(client._options))
        )


class AsyncLlmProviders:
    """``GET /llm/providers``, async."""

    def __init__(self, client: AsyncIgris) -> None:
        self._client = client

    async def list(self) -> list[LlmProviderInfo]:
        """Async form of :meth:`LlmProviders.list`."""
        client = self._client
        prepared = prepare_providers(client._options)
        return parse_providers(await client._transport.request(client._options, prepared))
