"""langchain_igris vs langchain-openai, side by side against one local server in another process
(benchmarks/_server.py). Prints the ratios; ``main()`` returns the figures.

- client CPU per ``invoke``: ChatIgris vs ChatOpenAI (and a trivial BaseChatModel: LangChain's
  own per-call cost);
- client CPU per streamed chunk: the CPU difference between a long and a short stream divided by
  the difference in chunks (per-call costs cancel out), for ChatIgris, ChatOpenAI and a trivial
  BaseChatModel whose ``_stream`` yields prebuilt chunks (LangChain's own per-chunk floor);
- CPU of ``import`` + constructing a model in a fresh interpreter (minus the bare interpreter);
- wall time of ``aembed_documents`` of 10,000 texts at equal ``chunk_size``: IgrisEmbeddings vs
  OpenAIEmbeddings (``check_embedding_ctx_length=False``: no tiktoken, which needs network).

Run: ``python -m benchmarks.bench_langchain`` (or ``python benchmarks/bench_langchain.py``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import SecretStr

from benchmarks._measure import cpu_per_op, machine, print_table, subprocess_cpu
from benchmarks._server import BenchServer
from langchain_igris import ChatIgris, IgrisEmbeddings

MESSAGES = [
    ("system", "You are a helpful assistant."),
    ("human", "What is the capital of France?"),
]
LONG, SHORT = 400, 10
EMBED_TEXTS = 10_000
EMBED_CHUNK = 1000

TARGETS = {"invoke": 0.6, "chunk": 0.35, "import": 0.6, "embed": 0.7}


class _FloorChat(BaseChatModel):
    """A chat model with no I/O: ``_stream`` yields prebuilt chunks (LangChain's own cost per
    chunk: callbacks, metadata merge, aggregation)."""

    @property
    def _llm_type(self) -> str:
        return "floor"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("Paris."))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield from _PREBUILT[: kw.get("max_tokens", 16)]


_PREBUILT = [ChatGenerationChunk(message=AIMessageChunk(content=" word")) for _ in range(LONG)]


class _FloorBuildingChat(_FloorChat):
    """As ``_FloorChat``, but builds each chunk (what any integration must at least do)."""

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        for _ in range(kw.get("max_tokens", 16)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=" word"))


def _per_chunk(stream: Callable[[int], None], n: int) -> float:
    long = cpu_per_op(lambda: stream(LONG), n, warmup=3)
    short = cpu_per_op(lambda: stream(SHORT), n, warmup=3)
    return (long - short) / (LONG - SHORT)


def _async_wall(make: Callable[[], Awaitable[Any]], rounds: int = 5, warmup: int = 1) -> float:
    """Median wall seconds of an async job, all rounds in one event loop (pools stay warm)."""

    async def run() -> float:
        for _ in range(warmup):
            await make()
        results = []
        for _ in range(rounds):
            gc.collect()
            start = time.perf_counter()
            await make()
            results.append(time.perf_counter() - start)
        return statistics.median(results)

    return asyncio.run(run())


def bench_chat(base_url: str, n: int) -> dict[str, dict[str, float]]:
    """CPU per invoke and per streamed chunk."""
    igris = ChatIgris(
        model="@bench/gpt-4o", base_url=base_url, api_key=SecretStr("bench-key"), max_retries=0
    )
    openai_chat = ChatOpenAI(
        model="gpt-4o",
        base_url=base_url + "/llm/bench/v1",
        api_key=SecretStr("bench-key"),
        max_retries=0,
        stream_usage=True,
    )
    floor = _FloorChat()
    floor_building = _FloorBuildingChat()

    def streamer(model: BaseChatModel) -> Callable[[int], None]:
        def stream(words: int) -> None:
            for _ in model.stream(MESSAGES, max_tokens=words):
                pass

        return stream

    invoke = {
        "igris": cpu_per_op(lambda: igris.invoke(MESSAGES), n),
        "openai": cpu_per_op(lambda: openai_chat.invoke(MESSAGES), n),
        "floor": cpu_per_op(lambda: floor.invoke(MESSAGES), n),
    }
    m = max(20, n // 10)
    chunk = {
        "igris": _per_chunk(streamer(igris), m),
        "openai": _per_chunk(streamer(openai_chat), m),
        "floor": _per_chunk(streamer(floor), m),
        "floor_building": _per_chunk(streamer(floor_building), m),
    }
    return {"invoke": invoke, "chunk": chunk}


def bench_embeddings(base_url: str) -> dict[str, float]:
    """Wall seconds of aembed_documents of 10,000 texts, chunk_size 1000."""
    texts = [f"document number {i} about the capital of France" for i in range(EMBED_TEXTS)]
    igris = IgrisEmbeddings(
        model="@bench/text-embedding-3-small",
        base_url=base_url,
        api_key=SecretStr("bench-key"),
        chunk_size=EMBED_CHUNK,
        max_retries=0,
    )
    openai_embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=base_url + "/llm/bench/v1",
        api_key=SecretStr("bench-key"),
        chunk_size=EMBED_CHUNK,
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    vectors = asyncio.run(igris.aembed_documents(texts))
    assert len(vectors) == EMBED_TEXTS
    assert len(vectors[0]) == 256
    return {
        "igris": _async_wall(lambda: igris.aembed_documents(texts)),
        "openai": _async_wall(lambda: openai_embeddings.aembed_documents(texts)),
    }


def bench_import() -> dict[str, float]:
    """CPU of import + construction in a fresh interpreter."""
    return {
        "igris": subprocess_cpu(
            "from langchain_igris import ChatIgris\n"
            "ChatIgris(model='@bench/gpt-4o', api_key='x', base_url='http://127.0.0.1:9')"
        ),
        "openai": subprocess_cpu(
            "from langchain_openai import ChatOpenAI\n"
            "ChatOpenAI(model='gpt-4o', api_key='x', base_url='http://127.0.0.1:9/llm/b/v1')"
        ),
        "python": subprocess_cpu("pass"),
    }


def main(n: int = 300) -> dict[str, Any]:
    """Run every measure; print the table; return ``rows`` (measure, ours, peer, target) as
    ``benchmarks/run_all.py`` expects, and the raw figures and ratios."""
    with BenchServer() as srv:
        chat = bench_chat(srv.base_url, n)
        embed = bench_embeddings(srv.base_url)
    imports = bench_import()
    ratios = {
        "invoke": chat["invoke"]["igris"] / chat["invoke"]["openai"],
        "chunk": chat["chunk"]["igris"] / chat["chunk"]["openai"],
        "import": (imports["igris"] - imports["python"]) / (imports["openai"] - imports["python"]),
        "embed": embed["igris"] / embed["openai"],
    }
    rows = [
        (
            "ChatIgris vs ChatOpenAI: CPU per invoke",
            chat["invoke"]["igris"],
            chat["invoke"]["openai"],
            TARGETS["invoke"],
        ),
        (
            "ChatIgris vs ChatOpenAI: CPU per streamed chunk",
            chat["chunk"]["igris"],
            chat["chunk"]["openai"],
            TARGETS["chunk"],
        ),
        (
            "import + construct a chat model (CPU, minus bare interpreter)",
            imports["igris"] - imports["python"],
            imports["openai"] - imports["python"],
            TARGETS["import"],
        ),
        (
            f"aembed_documents of {EMBED_TEXTS:,} texts, chunk_size {EMBED_CHUNK} (wall)",
            embed["igris"],
            embed["openai"],
            TARGETS["embed"],
        ),
        (
            "ChatIgris CPU per invoke vs LangChain's floor",
            chat["invoke"]["igris"],
            chat["invoke"]["floor"],
            None,
        ),
        (
            "ChatIgris CPU per chunk vs LangChain's floor",
            chat["chunk"]["igris"],
            chat["chunk"]["floor"],
            None,
        ),
        (
            "ChatIgris CPU per chunk vs a floor model building its chunks",
            chat["chunk"]["igris"],
            chat["chunk"]["floor_building"],
            None,
        ),
        (
            "ChatOpenAI CPU per chunk vs LangChain's floor",
            chat["chunk"]["openai"],
            chat["chunk"]["floor"],
            None,
        ),
    ]
    print(f"\nlangchain_igris benchmark on {machine()}")
    print_table("langchain_igris vs langchain-openai (and LangChain's own floor)", rows)
    print(
        "\nratios (target): " + ", ".join(f"{k} {v:.2f} ({TARGETS[k]})" for k, v in ratios.items())
    )
    return {"rows": rows, "chat": chat, "embeddings": embed, "import": imports, "ratios": ratios}


if __name__ == "__main__":
    main()
