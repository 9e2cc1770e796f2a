"""Provider list and connection types."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from igris_core.types._base import IgrisModel

__all__ = ["AuthStyle", "LlmConnection", "LlmProviderInfo"]

AuthStyle = Literal["bearer", "x-api-key", "query-param", "none"]


class LlmProviderInfo(IgrisModel):
    """A provider registered on the gateway (``GET /llm/providers``).

    The wire uses camelCase (``baseUrl``, ``authStyle``, ``supportedEndpoints``); Python reads
    snake_case. ``base_url`` is ``None`` for self-hosted providers, whose connections need a
    custom base URL.
    """

    slug: str
    name: str
    base_url: str | None = Field(default=None, alias="baseUrl")
    auth_style: AuthStyle | str = Field(default="bearer", alias="authStyle")
    supported_endpoints: list[str] = Field(default_factory=list, alias="supportedEndpoints")


class LlmConnection(IgrisModel):
    """What an OpenAI-compatible SDK needs to route through a gateway connection.

    Example::

        conn = igris.connect_llm("openai-prod", user="alice@corp.com")
        client = openai.OpenAI(**conn.openai_kwargs())
    """

    base_url: str
    api_key: SecretStr
    headers: dict[str, str] = Field(default_factory=dict)

    def openai_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``openai.OpenAI(...)`` (and most OpenAI-compatible SDKs)."""
        return {
            "base_url": self.base_url,
            "api_key": self.api_key.get_secret_value(),
            "default_headers": dict(self.headers),
        }
