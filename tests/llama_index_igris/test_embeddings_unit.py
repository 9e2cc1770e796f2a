"""IgrisEmbedding against a mock transport: request shape, base64 decoding, batching, bounded
async concurrency, identity, secrets."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Callable

import httpx
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from igris_core import IgrisInputError, IgrisPolicyDeniedError, igris_context
from llama_index_igris import IgrisEmbedding
from tests.llama_index_igris.helpers import SECRET, Recorder, answer, embeddings_answer

MakeEmbedding = Callable[..., tuple[IgrisEmbedding, Recorder]]


def test_fields_and_validation() -> None:
    model = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small", api_key=SECRET, dimensions=64
    )
    assert isinstance(model, BaseEmbedding)
    assert model.model_name == "@openai-prod/text-embedding-3-small"
    assert (model.dimensions, model.embed_batch_size, model.max_concurrency) == (64, 100, 4)
    assert IgrisEmbedding.class_name() == "IgrisEmbedding"
    with pytest.raises(IgrisInputError, match="@<connection-slug>/<model>"):
        IgrisEmbedding(model="text-embedding-3-small", api_key=SECRET)


def test_api_key_never_shows() -> None:
    model = IgrisEmbedding(model="@openai-prod/e", api_key=SECRET)
    for text in (repr(model), str(model), model.to_json(), json.dumps(model.to_payload())):
        assert SECRET not in text
    assert "api_key" not in model.to_dict()
    blob = pickle.dumps(model)
    assert SECRET not in blob.decode("latin-1")  # pickles carry no key
    assert pickle.loads(blob).api_key is None  # IGRIS_API_KEY is read at first use


def test_query_and_text_embeddings(mock_embedding: MakeEmbedding) -> None:
    model, rec = mock_embedding(embeddings_answer, dimensions=4, additional_kwargs={"user": "u1"})
    assert model.get_query_embedding("hello") == [5.0, 0.0, 0.5, -1.0]
    assert str(rec.requests[0].url) == "https://gw.test/llm/openai-prod/v1/embeddings"
    assert rec.body == {
        "model": "text-embedding-3-small",
        "input": ["hello"],
        "encoding_format": "base64",
        "dimensions": 4,
        "user": "u1",
    }
    assert model.get_text_embedding("hi") == [2.0, 0.0, 0.5, -1.0]
    vectors = model.get_text_embedding_batch(["a", "bb", "ccc"])
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0]


def test_batches_follow_embed_batch_size(mock_embedding: MakeEmbedding) -> None:
    model, rec = mock_embedding(embeddings_answer, embed_batch_size=2)
    vectors = model.get_text_embedding_batch(["a", "bb", "ccc", "dddd", "e"])
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0, 4.0, 1.0]
    assert [b["input"] for b in rec.bodies] == [["a", "bb"], ["ccc", "dddd"], ["e"]]


async def test_async_batches_in_flight_are_bounded(mock_embedding: MakeEmbedding) -> None:
    state = {"now": 0, "peak": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return embeddings_answer(request)

    model, rec = mock_embedding(slow, embed_batch_size=1, max_concurrency=3)
    texts = [str(i) * (i + 1) for i in range(10)]
    vectors = await model.aget_text_embedding_batch(texts)
    assert [v[0] for v in vectors] == [float(len(t)) for t in texts]
    assert len(rec.requests) == 10
    assert state["peak"] == 3
    assert (await model.aget_query_embedding("abc"))[0] == 3.0
    assert (await model.aget_text_embedding("abcd"))[0] == 4.0


def test_identity(mock_embedding: MakeEmbedding) -> None:
    model, rec = mock_embedding(
        embeddings_answer, igris_user="indexer", igris_metadata={"job": "ingest"}
    )
    model.get_text_embedding("x")
    assert (rec.headers["x-igris-user"], rec.headers["x-igris-metadata-job"]) == (
        "indexer",
        "ingest",
    )
    with igris_context(user="alice", trace_id="t-9"):
        model.get_query_embedding("x")
    assert (rec.headers["x-igris-user"], rec.headers["x-igris-trace-id"]) == ("alice", "t-9")


def test_typed_errors(mock_embedding: MakeEmbedding) -> None:
    model, _ = mock_embedding(
        lambda r: answer({"error": {"message": "no", "type": "policy_denied"}}, 403)
    )
    with pytest.raises(IgrisPolicyDeniedError):
        model.get_text_embedding("x")


async def test_assignments(mock_embedding: MakeEmbedding) -> None:
    model, rec = mock_embedding(embeddings_answer)
    model.model = "@google-prod/text-embedding-004"
    assert model.model_name == "@google-prod/text-embedding-004"
    model.igris_user = "re-indexer"
    await model.aget_text_embedding("x")
    assert rec.headers["x-igris-user"] == "re-indexer"
    assert str(rec.requests[-1].url).endswith("/llm/google-prod/v1/embeddings")
    with pytest.raises(IgrisInputError):
        model.model = "bare-model"
