"""Where an ``igris_context`` scope reaches and where only the instance's identity does.

A streaming query engine sends its request when its stream is read, possibly after the ``with``
block: the package captures the scope when the stream is made. A plain thread or an
``IngestionPipeline(num_workers>1)`` worker process does not see the caller's contextvars at all:
the instance-level identity (``igris_user=`` ...) is what reaches them, as the README says."""

from __future__ import annotations

import asyncio
import pickle
import threading

import pytest
from llama_index.core import Document, SummaryIndex
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse
from llama_index.core.ingestion import IngestionPipeline

from igris_core import igris_context
from igris_core.local_gateway import LocalGateway
from llama_index_igris import IgrisEmbedding, IgrisLLM


def _streaming_engine(llm: IgrisLLM) -> object:
    index = SummaryIndex.from_documents([Document(text="Paris is the capital of France.")])
    return index.as_query_engine(llm=llm, streaming=True)


def test_streaming_query_engine_read_after_the_block(gw: LocalGateway, llm: IgrisLLM) -> None:
    engine = _streaming_engine(llm)
    with igris_context(user="alice", trace_id="run-1", metadata={"team": "search"}):
        response = engine.query("What is the capital of France?")  # type: ignore[attr-defined]
    assert isinstance(response, StreamingResponse)
    assert "capital" in "".join(response.response_gen)
    entry = gw.audit[-1]
    assert (entry.user, entry.trace_id, dict(entry.metadata)) == (
        "alice",
        "run-1",
        {"team": "search"},
    )


def test_async_streaming_query_engine_read_after_the_block(gw: LocalGateway, llm: IgrisLLM) -> None:
    engine = _streaming_engine(llm)

    async def run() -> str:
        with igris_context(user="bob"):
            response = await engine.aquery("What is the capital of France?")  # type: ignore[attr-defined]
        assert isinstance(response, AsyncStreamingResponse)
        return "".join([token async for token in response.async_response_gen()])

    assert "capital" in asyncio.run(run())
    assert gw.audit[-1].user == "bob"


def test_plain_thread_gets_the_instance_identity(gw: LocalGateway) -> None:
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url, igris_user="batch"
    )
    with igris_context(user="alice"):  # a new thread starts with empty contextvars
        worker = threading.Thread(target=llm.complete, args=("hello",))
        worker.start()
        worker.join()
    assert gw.audit[-1].user == "batch"


def test_pickled_model_keeps_the_instance_identity(
    gw: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IngestionPipeline(num_workers>1) pickles its transformations into spawned processes,
    # which read the key from the environment and see no igris_context scope of the parent.
    monkeypatch.setenv("IGRIS_API_KEY", gw.api_key)
    embed = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small", base_url=gw.base_url, igris_user="ingest"
    )
    pipeline = IngestionPipeline(transformations=[embed])
    worker_copy = pickle.loads(pickle.dumps(pipeline.transformations))[0]
    worker = threading.Thread(target=worker_copy.get_text_embedding, args=("a text",))
    with igris_context(user="alice"):
        worker.start()
        worker.join()
    assert [entry.user for entry in gw.audit] == ["ingest"]
