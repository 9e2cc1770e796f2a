"""IgrisEmbeddings without a gateway: batching, order, base64 on the wire, concurrency bound,
all-or-nothing failures, progress bar, identity, construction errors."""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
import sys
from array import array
from typing import Any

import httpx
import pytest

from igris_core import IgrisServerError, igris_context
from langchain_igris import IgrisEmbeddings
from tests.langchain_igris.helpers import API_KEY, Recorder, error_reply, make_embeddings


def _vector(text: str) -> list[float]:
    # Exactly representable in float32, and different per text.
    return [float(len(text)), float(sum(map(ord, text)) % 1000), 0.5]


def _b64(values: list[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode()


def _answer(request: httpx.Request, *, shuffle: bool = False) -> httpx.Response:
    body = json.loads(request.content)
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [
        {"object": "embedding", "index": i, "embedding": _b64(_vector(t))}
        if body.get("encoding_format") == "base64"
        else {"object": "embedding", "index": i, "embedding": _vector(t)}
        for i, t in enumerate(texts)
    ]
    if shuffle:
        data.reverse()  # providers may answer out of order; `index` puts it right
    return httpx.Response(
        200,
        json={
            "object": "list",
            "model": body["model"],
            "data": data,
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
    )


TEXTS = [f"text number {i}" + "!" * (i % 7) for i in range(23)]


def test_order_batching_and_base64() -> None:
    recorder = Recorder(lambda r: _answer(r, shuffle=True))
    emb = make_embeddings(recorder, chunk_size=5, dimensions=3, model_kwargs={"user": "u1"})
    vectors = emb.embed_documents(TEXTS)
    assert vectors == [_vector(t) for t in TEXTS]
    bodies = recorder.bodies
    assert [len(b["input"]) for b in bodies] == [5, 5, 5, 5, 3]
    assert all(b["encoding_format"] == "base64" for b in bodies)
    assert all(b["dimensions"] == 3 and b["user"] == "u1" for b in bodies)
    assert all(b["model"] == "text-embedding-3-small" for b in bodies)
    assert recorder.requests[0].url.path == "/llm/openai-prod/v1/embeddings"
    assert emb.embed_query("hello") == _vector("hello")
    assert len(emb.embed_documents(TEXTS, chunk_size=10)) == len(TEXTS)
    assert [len(b["input"]) for b in recorder.bodies[-3:]] == [10, 10, 3]


async def test_async_order_and_batching() -> None:
    recorder = Recorder(lambda r: _answer(r, shuffle=True))
    emb = make_embeddings(recorder, chunk_size=4)
    assert await emb.aembed_documents(TEXTS) == [_vector(t) for t in TEXTS]
    assert len(recorder.requests) == 6
    assert await emb.aembed_query("x") == _vector("x")


def test_empty_input_sends_nothing() -> None:
    recorder = Recorder(_answer)
    emb = make_embeddings(recorder)
    assert emb.embed_documents([]) == []
    assert asyncio.run(emb.aembed_documents([])) == []
    assert recorder.requests == []


async def test_concurrency_is_bounded() -> None:
    state = {"in_flight": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        await asyncio.sleep(0.01)
        state["in_flight"] -= 1
        return _answer(request)

    transport = httpx.MockTransport(handler)
    emb = make_embeddings(
        Recorder(_answer),
        chunk_size=2,
        max_concurrency=3,
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    vectors = await emb.aembed_documents(TEXTS)  # 12 batches
    assert vectors == [_vector(t) for t in TEXTS]
    assert state["peak"] == 3


async def test_failing_batch_raises_and_cancels_the_rest() -> None:
    started: list[int] = []
    finished: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        first = json.loads(request.content)["input"][0]
        number = TEXTS.index(first)
        started.append(number)
        if number == 4:
            await asyncio.sleep(0.01)
            return error_reply(500, "provider down")
        await asyncio.sleep(0.5)
        finished.append(number)
        return _answer(request)

    emb = make_embeddings(
        Recorder(_answer),
        chunk_size=2,
        max_concurrency=4,
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(IgrisServerError, match="provider down"):
        await emb.aembed_documents(TEXTS)
    await asyncio.sleep(0)
    assert finished == []  # the other in-flight batches were cancelled, not awaited
    assert len(started) == 4  # and the queued ones never started


def test_sync_failure_raises_typed_error() -> None:
    recorder = Recorder(_answer, error_reply(500, "boom"))
    recorder.queue(_answer, error_reply(500, "boom"))
    emb = make_embeddings(recorder, chunk_size=10)
    with pytest.raises(IgrisServerError):
        emb.embed_documents(TEXTS)


def test_identity_headers() -> None:
    recorder = Recorder(_answer)
    emb = make_embeddings(recorder, igris_user="indexer", igris_metadata={"job": "nightly"})
    emb.embed_query("x")
    assert recorder.headers["x-igris-user"] == "indexer"
    assert recorder.headers["x-igris-metadata-job"] == "nightly"
    with igris_context(user="scoped", trace_id="t-1"):
        emb.embed_query("x")
    assert (recorder.headers["x-igris-user"], recorder.headers["x-igris-trace-id"]) == (
        "scoped",
        "t-1",
    )


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    emb = make_embeddings(Recorder(_answer), chunk_size=5, show_progress_bar=True)
    assert len(emb.embed_documents(TEXTS)) == len(TEXTS)
    assert "23/23" in capsys.readouterr().err


def test_progress_bar_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    emb = make_embeddings(Recorder(_answer), show_progress_bar=True)
    with pytest.raises(ImportError, match="pip install tqdm"):
        emb.embed_documents(["a"])


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"model": "text-embedding-3-small"}, "'text-embedding-3-small'"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"dimensions": 0}, "dimensions"),
        ({"igris_user": "a\nb"}, "control characters"),
    ],
)
def test_bad_options(kwargs: dict[str, Any], shown: str) -> None:
    params = {"model": "@openai-prod/text-embedding-3-small", "api_key": API_KEY, **kwargs}
    with pytest.raises(ValueError, match=shown) as err:  # ValidationError or IgrisInputError
        IgrisEmbeddings(**params)
    assert API_KEY not in str(err.value)


def test_env_and_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", "ig_env")
    monkeypatch.setenv("IGRIS_BASE_URL", "http://env:1")
    emb = IgrisEmbeddings(model="@openai-prod/text-embedding-3-small")
    assert emb.api_key is not None and emb.api_key.get_secret_value() == "ig_env"
    assert emb.base_url == "http://env:1"
    assert "ig_env" not in repr(emb)
    clone = pickle.loads(pickle.dumps(emb))
    assert clone.model == emb.model and clone._client_set is None
    with pytest.warns(UserWarning, match="encoding"):
        IgrisEmbeddings(model="@openai-prod/x", encoding="y")
