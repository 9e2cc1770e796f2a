"""``client.embeddings``: vectors for one or more texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from igris_core._identity import Identity, call_identity
from igris_core._requests import embedding_count, parse_embeddings, prepare_embeddings
from igris_core._tracing import gateway_call
from igris_core.types._embeddings import EmbeddingResponse

if TYPE_CHECKING:
    from igris_core._client import AsyncIgris, Igris

__all__ = ["AsyncEmbeddings", "Embeddings"]

EmbeddingInput = str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]


class Embeddings:
    """Embeddings through the gateway (``POST /llm/{slug}/v1/embeddings``)."""

    def __init__(self, client: Igris) -> None:
        self._client = client

    def create(
        self,
        *,
        model: str,
        input: EmbeddingInput,  # the wire field's name
        encoding_format: Literal["float", "base64"] | None = None,
        dimensions: int | None = None,
        user: str | None = None,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> EmbeddingResponse:
        """Embed ``input`` (a text or a list of texts); ``data`` comes back in input order.

        Vectors travel as base64 and are decoded to ``list[float]``, unless you pass
        ``encoding_format="base64"`` yourself (then you get the base64 text).

        Example::

            res = client.embeddings.create(
                model="@openai-prod/text-embedding-3-small", input=["Hello", "Goodbye"]
            )
            vector = res.data[0].embedding
        """
        client = self._client
        prepared = prepare_embeddings(
            client._options,
            model,
            input,
            encoding_format,
            dimensions,
            user,
            fields,
            call_identity(igris_user, igris_trace_id, igris_metadata, identity),
            extra_headers,
        )
        with gateway_call("embeddings", model, prepared) as call:
            answer = client._transport.request(client._options, call.request)
            return call.done(parse_embeddings(answer, encoding_format, embedding_count(input)))


class AsyncEmbeddings:
    """Embeddings through the gateway, async."""

    def __init__(self, client: AsyncIgris) -> None:
        self._client = client

    async def create(
        self,
        *,
        model: str,
        input: EmbeddingInput,  # the wire field's name
        encoding_format: Literal["float", "base64"] | None = None,
        dimensions: int | None = None,
        user: str | None = None,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> EmbeddingResponse:
        """Async form of :meth:`Embeddings.create`."""
        client = self._client
        prepared = prepare_embeddings(
            client._options,
            model,
            input,
            encoding_format,
            dimensions,
            user,
            fields,
            call_identity(igris_user, igris_trace_id, igris_metadata, identity),
            extra_headers,
        )
        with gateway_call("embeddings", model, prepared) as call:
            answer = await client._transport.request(client._options, call.request)
            return call.done(parse_embeddings(answer, encoding_format, embedding_count(input)))
