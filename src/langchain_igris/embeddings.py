"""``IgrisEmbeddings``: LangChain embeddings over the Igris gateway."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx
from langchain_core.embeddings import Embeddings
from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from igris_core import IgrisInputError, parse_model, protocol
from igris_core._inputs import check_texts
from igris_core._pool import ModelClients, clients_of, state_without_clients
from igris_core._tracing import run_trace_scope
from langchain_igris._arguments import drop_openai_client_arguments, rename_arguments
from langchain_igris._errors import langchain_errors
from langchain_igris._runs import enclosing_run_trace_id
from langchain_igris._tokens import split_texts

__all__ = ["IgrisEmbeddings"]

# OpenAIEmbeddings arguments that only make sense for OpenAI's own client, and why.
_OPENAI_CLIENT_ONLY = {
    "openai_api_key": "pass api_key (the Igris key); the provider's key stays in the gateway",
    "openai_api_base": "pass base_url (the gateway's URL) and model='@slug/model'",
    "openai_api_type": "Azure deployments are gateway connections: model='@slug/model'",
    "openai_api_version": "the API version belongs to the gateway connection's settings",
    "deployment": "Azure deployments are gateway connections: name it in model='@slug/...'",
    "openai_organization": "the organization belongs to the gateway connection's settings",
    "openai_proxy": "pass http_client=httpx.Client(proxy=...) instead",
    "client": "IgrisEmbeddings builds its own clients; pass http_client=httpx.Client(...)",
    "async_client": "IgrisEmbeddings builds its own clients; pass http_async_client=...",
    "default_query": "the gateway's routes take no query parameters",
    "headers": "pass default_headers instead",
    "retry_min_seconds": "retries follow max_retries, with the gateway's Retry-After",
    "retry_max_seconds": "retries follow max_retries, with the gateway's Retry-After",
    "tiktoken_enabled": "texts are counted with tiktoken when its encoding is cached locally",
    "tiktoken_model_name": "token counting follows the model's own family",
    "allowed_special": "texts are sent as text, never as token ids",
    "disallowed_special": "texts are sent as text, never as token ids",
    "skip_empty": "empty texts are embedded as given",
}


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar of ``total`` steps, or ``None`` when disabled."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "show_progress_bar=True needs the tqdm package: pip install tqdm"
        ) from None
    return tqdm(total=total, desc="Embedding", unit="text")


class IgrisEmbeddings(BaseModel, Embeddings):
    """Embedding models through the Igris LLM security gateway.

    Setup:
        .. code-block:: bash

            pip install "igris-integrations[langchain]"
            export IGRIS_API_KEY="ig_..."

    Key init args:
        model: str
            ``"@<connection-slug>/<model>"``, e.g. ``"@openai-prod/text-embedding-3-small"``.
        dimensions: int | None
            Output dimensions, for models that support shortening.
        chunk_size: int
            Texts per request (1000, as ``OpenAIEmbeddings``).
        max_concurrency: int
            Requests in flight at once in ``aembed_documents``.
        api_key, base_url, timeout, max_retries, igris_user, igris_trace_id, igris_metadata:
            As for ``ChatIgris``.

    Instantiate:
        .. code-block:: python

            from langchain_igris import IgrisEmbeddings

            embeddings = IgrisEmbeddings(model="@openai-prod/text-embedding-3-small")

    Embed:
        .. code-block:: python

            vectors = embeddings.embed_documents(["Hello", "Goodbye"])
            query = embeddings.embed_query("Hi")
            vectors = await embeddings.aembed_documents(texts)  # batches in parallel

    Vectors travel base64-encoded (a third of the bytes of JSON floats) and come back as
    ``list[float]`` in input order. A failing batch raises its typed ``igris_core`` error (also
    the matching ``langchain_core.exceptions`` class) and nothing partial is returned (the
    other in-flight batches are cancelled). ``check_embedding_ctx_length=True`` embeds an
    over-long text in pieces, as ``OpenAIEmbeddings``. The identity of a
    call comes from the ``igris_*`` fields and any :func:`igris_core.igris_context` scope.
    """

    model: str
    """The embedding model, as ``"@<connection-slug>/<model>"``."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(protocol.ENV_API_KEY, default=None)
    )
    """The Igris API key; ``IGRIS_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=from_env(protocol.ENV_BASE_URL, default=None))
    """The gateway's base URL; ``IGRIS_BASE_URL``, else the hosted gateway."""
    dimensions: int | None = None
    """Output dimensions (models that support shortening)."""
    chunk_size: int = 1000
    """Texts per request."""
    max_concurrency: int = 4
    """Batches in flight at once in the async methods."""
    show_progress_bar: bool = False
    """Show a tqdm progress bar (needs ``tqdm``)."""
    timeout: float | httpx.Timeout | None = protocol.DEFAULT_TIMEOUT
    """Seconds per request (or an ``httpx.Timeout``); ``None`` waits forever."""
    max_retries: int | None = protocol.DEFAULT_MAX_RETRIES
    """Retries of a failed request (408, 429, 5xx, no answer); 0 turns them off."""
    max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES
    """The largest answer accepted, after decompression (``IgrisResponseTooLargeError``)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body fields, passed through unchanged."""
    default_headers: dict[str, str] | None = None
    """Extra headers on every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """Your own ``httpx.Client``; you keep closing it. Not pickled."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """Your own ``httpx.AsyncClient``. Not pickled."""
    igris_user: str | None = None
    """``X-Igris-User`` of every call."""
    igris_trace_id: str | None = None
    """``X-Igris-Trace-Id`` of every call."""
    igris_metadata: dict[str, str] | None = None
    """``X-Igris-Metadata-*`` entries of every call."""
    check_embedding_ctx_length: bool = False
    """Embed a text longer than ``embedding_ctx_length`` tokens in pieces and return their
    length-weighted mean, normalised (as ``OpenAIEmbeddings``). Off: texts are sent whole, and
    one too long for the model fails with the provider's error."""
    embedding_ctx_length: int = 8191
    """The longest text, in tokens, sent in one piece with ``check_embedding_ctx_length``
    (counted exactly with a locally cached tiktoken encoding, else at 2 characters a token)."""

    _client_set: ModelClients | None = PrivateAttr(default=None)

    model_config = ConfigDict(protected_namespaces=(), arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_kwargs(cls, values: Any) -> Any:
        """Move unknown constructor arguments into ``model_kwargs``, with a warning."""
        if not isinstance(values, dict):
            return values
        values = rename_arguments(values, {"request_timeout": "timeout"})
        known = get_pydantic_field_names(cls)
        unknown = [name for name in values if name not in known]
        if not unknown:
            return values
        values = dict(values)
        extra = dict(values.get("model_kwargs") or {})
        for name in unknown:
            warnings.warn(
                f"{name!r} is not an IgrisEmbeddings parameter: it was moved to model_kwargs "
                "and is sent in the request body as is.",
                UserWarning,
                stacklevel=2,
            )
            extra[name] = values.pop(name)
        values["model_kwargs"] = extra
        return values

    def __init__(self, **kwargs: Any) -> None:
        kwargs = drop_openai_client_arguments(kwargs, _OPENAI_CLIENT_ONLY, "IgrisEmbeddings")
        super().__init__(**kwargs)
        parse_model(self.model)  # IgrisInputError showing the expected form (not pydantic's)
        # Checked here rather than in a model validator: pydantic would quote the whole
        # constructor input, API key included, in its error message.
        for name in ("chunk_size", "max_concurrency", "embedding_ctx_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or value < 1:
                raise IgrisInputError(f"invalid {name} {value!r}: expected an int >= 1")
        if self.dimensions is not None and self.dimensions < 1:
            raise IgrisInputError(f"invalid dimensions {self.dimensions!r}: expected an int >= 1")
        clients_of(self).sync()  # checks the key, base URL, timeout, retries, headers, identity

    def _clients(self) -> ModelClients:
        return clients_of(self)

    def __getstate__(self) -> dict[Any, Any]:
        """Pickle without the clients and the ``httpx`` clients (rebuilt on first use)."""
        return state_without_clients(super().__getstate__())

    def _batches(self, texts: Sequence[str], chunk_size: int | None) -> Iterator[list[str]]:
        size = chunk_size or self.chunk_size
        for start in range(0, len(texts), size):
            yield list(texts[start : start + size])

    def _fields(self) -> dict[str, Any]:
        fields = dict(self.model_kwargs)
        if self.dimensions is not None:
            fields["dimensions"] = self.dimensions
        return fields

    def embed_documents(self, texts: list[str], chunk_size: int | None = None) -> list[list[float]]:
        """Embed texts, ``chunk_size`` per request, in order. ``[]`` gives ``[]``. With
        ``check_embedding_ctx_length``, a text longer than ``embedding_ctx_length`` tokens is
        embedded in pieces and gets their length-weighted mean, normalised."""
        texts = check_texts(texts)
        if not self.check_embedding_ctx_length:
            return self._embed(texts, chunk_size)
        pieces = split_texts(self.model, texts, self.embedding_ctx_length)
        return pieces.combine(self._embed(pieces.texts, chunk_size))

    def _embed(self, texts: list[str], chunk_size: int | None) -> list[list[float]]:
        if not texts:
            return []
        create = self._clients().sync().embeddings.create
        fields = self._fields()
        bar = _progress(len(texts), self.show_progress_bar)
        vectors: list[list[float]] = []
        try:
            with langchain_errors(), run_trace_scope(enclosing_run_trace_id()):
                for batch in self._batches(texts, chunk_size):
                    response = create(model=self.model, input=batch, **fields)
                    vectors.extend(cast_vectors(response.data))
                    if bar is not None:
                        bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return vectors

    async def aembed_documents(
        self, texts: list[str], chunk_size: int | None = None
    ) -> list[list[float]]:
        """Embed texts, ``chunk_size`` per request, at most ``max_concurrency`` requests in
        flight; results in input order. If a batch fails, the others are cancelled and its
        typed error is raised. Over-long texts as in :meth:`embed_documents`."""
        texts = check_texts(texts)
        if not self.check_embedding_ctx_length:
            return await self._aembed(texts, chunk_size)
        pieces = split_texts(self.model, texts, self.embedding_ctx_length)
        return pieces.combine(await self._aembed(pieces.texts, chunk_size))

    async def _aembed(self, texts: list[str], chunk_size: int | None) -> list[list[float]]:
        if not texts:
            return []
        create = self._clients().async_().embeddings.create
        fields = self._fields()
        batches = list(self._batches(texts, chunk_size))
        bar = _progress(len(texts), self.show_progress_bar)
        gate = asyncio.Semaphore(self.max_concurrency)
        results: list[list[list[float]]] = [[] for _ in batches]

        failed = False

        async def run(position: int, batch: list[str]) -> None:
            nonlocal failed
            async with gate:
                if failed:  # a batch has failed: start no more requests
                    return
                try:
                    response = await create(model=self.model, input=batch, **fields)
                except BaseException:
                    failed = True
                    raise
            results[position] = cast_vectors(response.data)
            if bar is not None:
                bar.update(len(batch))

        try:
            # The batches' tasks inherit the run's trace id.
            with langchain_errors(), run_trace_scope(enclosing_run_trace_id()):
                if len(batches) == 1:
                    await run(0, batches[0])
                else:
                    await _all_or_nothing(run(i, batch) for i, batch in enumerate(batches))
        finally:
            if bar is not None:
                bar.close()
        return [vector for batch in results for vector in batch]

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        return self.embed_documents([text])[0]

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one text, async."""
        return (await self.aembed_documents([text]))[0]


def cast_vectors(data: Sequence[Any]) -> list[list[float]]:
    """The ``list[float]`` vectors of an embeddings answer (already in input order)."""
    return [item.embedding for item in data]


async def _all_or_nothing(jobs: Iterable[Any]) -> None:
    """Run coroutines as tasks; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:  # cancelled from outside
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for task in tasks:
        if task in done and not task.cancelled() and task.exception() is not None:
            for other in pending:
                other.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            error = task.exception()
            assert error is not None
            raise error
