"""``IgrisEmbedding``: a LlamaIndex ``BaseEmbedding`` that embeds through the Igris gateway.
All I/O goes through :class:`igris_core.Igris` / :class:`igris_core.AsyncIgris`; vectors travel
as base64 and the core decodes them."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, cast

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import Field, PrivateAttr, SecretStr

from igris_core import parse_model, protocol
from igris_core._inputs import check_texts
from igris_core._pool import ModelClients
from igris_core._tracing import run_trace_scope
from igris_core.types import EmbeddingResponse
from llama_index_igris._keywords import refuse_unknown_keywords
from llama_index_igris._owner import CLIENT_ARGUMENTS, ClientOwner, ModelName
from llama_index_igris._spans import root_span_id

__all__ = ["IgrisEmbedding"]


DEFAULT_EMBED_BATCH_SIZE = 100
DEFAULT_MAX_CONCURRENCY = 4


def _vectors(response: EmbeddingResponse) -> list[Embedding]:
    return [cast(Embedding, item.embedding) for item in response.data]


class IgrisEmbedding(ClientOwner, BaseEmbedding):
    """An embedding model behind the Igris gateway, for indexes and retrievers.

    Args:
        model: ``"@<connection-slug>/<model>"``, e.g. ``"@openai-prod/text-embedding-3-small"``.
        dimensions: ask the model for vectors of this size (models that support it).
        embed_batch_size: texts per request (LlamaIndex batches by it).
        max_concurrency: async batches in flight at once (``aget_text_embedding_batch`` starts
            them all; this bounds how many requests are open together).
        api_key: the Igris key; ``IGRIS_API_KEY`` when not given. Never shown or serialised.
        base_url: the gateway; ``IGRIS_BASE_URL``, else the hosted gateway.
        timeout, max_retries: per request; retries are the core's.
        additional_kwargs: more request fields sent with every call.
        igris_user, igris_trace_id, igris_metadata: the identity of every call (an
            ``igris_context(...)`` scope takes precedence).
        http_client, async_http_client: your own ``httpx.Client`` / ``httpx.AsyncClient``.
            Any other keyword that is not a ``BaseEmbedding`` field is refused.

    Example::

        from llama_index.core import Settings, VectorStoreIndex
        from llama_index_igris import IgrisEmbedding

        Settings.embed_model = IgrisEmbedding(
            model="@openai-prod/text-embedding-3-small", dimensions=256
        )
        index = VectorStoreIndex.from_documents(documents)
        vector = Settings.embed_model.get_query_embedding("Where is the Eiffel tower?")
    """

    model: ModelName = Field(description="The model, as '@<connection-slug>/<model>'.")
    dimensions: int | None = Field(
        default=None, gt=0, description="The size of the vectors (models that support it)."
    )
    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY, gt=0, description="Async batches in flight at once."
    )
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="The Igris API key (IGRIS_API_KEY when not given); never serialised.",
    )
    base_url: str | None = Field(
        default=None, description="The gateway's base URL (IGRIS_BASE_URL when not given)."
    )
    timeout: float | None = Field(
        default=protocol.DEFAULT_TIMEOUT, description="Seconds per request (None: no limit)."
    )
    max_retries: int = Field(
        default=protocol.DEFAULT_MAX_RETRIES, ge=0, description="Retries of failed requests."
    )
    max_response_bytes: int = Field(
        default=protocol.DEFAULT_MAX_RESPONSE_BYTES,
        description="The largest answer accepted, after decompression.",
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="More request fields sent with every call."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra headers on every request."
    )
    igris_user: str | None = Field(default=None, description="X-Igris-User of every call.")
    igris_trace_id: str | None = Field(default=None, description="X-Igris-Trace-Id of every call.")
    igris_metadata: dict[str, str] | None = Field(
        default=None, description="X-Igris-Metadata-* of every call."
    )

    _client_set: ModelClients | None = PrivateAttr(default=None)
    _limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    def __init__(
        self,
        model: str,
        *,
        dimensions: int | None = None,
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = protocol.DEFAULT_TIMEOUT,
        max_retries: int = protocol.DEFAULT_MAX_RETRIES,
        additional_kwargs: dict[str, Any] | None = None,
        default_headers: dict[str, str] | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        parse_model(model)  # a bad model string fails here, with the expected form
        refuse_unknown_keywords(
            "IgrisEmbedding", kwargs, [*type(self).model_fields, *CLIENT_ARGUMENTS]
        )
        fields: dict[str, Any] = {
            "model_name": model,
            **kwargs,
            "model": model,
            "dimensions": dimensions,
            "embed_batch_size": embed_batch_size,
            "max_concurrency": max_concurrency,
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "additional_kwargs": additional_kwargs or {},
            "default_headers": default_headers,
            "igris_user": igris_user,
            "igris_trace_id": igris_trace_id,
            "igris_metadata": igris_metadata,
        }
        super().__init__(**fields)
        self._set_clients(http_client, async_http_client)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "IgrisEmbedding"

    def _field_set(self, name: str, value: Any) -> None:
        if name == "model":
            super().__setattr__("model_name", value)
        elif name == "max_concurrency":
            self._limits = weakref.WeakKeyDictionary()

    def _limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        limit = self._limits.get(loop)
        if limit is None:
            limit = self._limits[loop] = asyncio.Semaphore(self.max_concurrency)
        return limit

    # --- embeddings ----------------------------------------------------------------------

    def _embed(self, texts: list[str]) -> list[Embedding]:
        with run_trace_scope(root_span_id()):
            response = self._sync_client().embeddings.create(
                model=self.model,
                input=check_texts(texts),
                dimensions=self.dimensions,
                **self.additional_kwargs,
            )
        return _vectors(response)

    async def _aembed(self, texts: list[str]) -> list[Embedding]:
        check_texts(texts)
        async with self._limit():
            with run_trace_scope(root_span_id()):
                response = await self._async_client().embeddings.create(
                    model=self.model,
                    input=texts,
                    dimensions=self.dimensions,
                    **self.additional_kwargs,
                )
        return _vectors(response)

    def _get_query_embedding(self, query: str) -> Embedding:
        """Embed a query."""
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        """Embed a query, async."""
        return (await self._aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        """Embed a text."""
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        """Embed a text, async."""
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """Embed a batch of texts in one request."""
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """Embed a batch of texts in one request, async (at most ``max_concurrency`` such
        requests in flight)."""
        return await self._aembed(texts)
