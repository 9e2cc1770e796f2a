"""llama_index_igris client CPU vs llama-index-llms-openai-like / llama-index-embeddings-openai,
side by side in one run against one local server in another process (benchmarks/_server.py).

Measured: client CPU per ``chat`` (target: IgrisLLM <= 0.6x OpenAILike), per streamed chunk of
``stream_chat`` (target <= 0.5x; the CPU difference between a long and a short stream divided
by the difference in chunks, so the per-call overhead cancels out), and for information per
``achat``, per ``astream_chat`` chunk and per embedding batch. ``main()`` returns the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai_like import OpenAILike

from benchmarks._measure import acpu_per_op, cpu_per_op, machine, print_table
from benchmarks._server import BenchServer
from llama_index_igris import IgrisEmbedding, IgrisLLM

MESSAGES = [
    ChatMessage(role=MessageRole.SYSTEM, content="You are a helpful assistant."),
    ChatMessage(role=MessageRole.USER, content="What is the capital of France?"),
]
TEXTS = [f"document number {i} about the history of Paris and its bridges" for i in range(64)]
LONG, SHORT = 400, 10
CHAT_TARGET, CHUNK_TARGET = 0.6, 0.5


def _llms(base_url: str) -> tuple[IgrisLLM, OpenAILike]:
    igris = IgrisLLM(model="@bench/gpt-4o", api_key="bench-key", base_url=base_url)
    theirs = OpenAILike(
        api_base=base_url + "/llm/bench/v1", api_key="x", model="gpt-4o", is_chat_model=True
    )
    return igris, theirs


def _embedders(base_url: str) -> tuple[IgrisEmbedding, OpenAIEmbedding]:
    igris = IgrisEmbedding(
        model="@bench/text-embedding-3-small", api_key="bench-key", base_url=base_url
    )
    theirs = OpenAIEmbedding(
        model_name="text-embedding-3-small", api_base=base_url + "/llm/bench/v1", api_key="x"
    )
    return igris, theirs


def _per_chunk(stream: Callable[[int], Any], m: int) -> float:
    long = cpu_per_op(lambda: stream(LONG), m, warmup=3)
    short = cpu_per_op(lambda: stream(SHORT), m, warmup=3)
    return (long - short) / (LONG - SHORT)


def _aper_chunk(stream: Callable[[int], Any], m: int) -> float:
    long = acpu_per_op(lambda: stream(LONG), m, warmup=3)
    short = acpu_per_op(lambda: stream(SHORT), m, warmup=3)
    return (long - short) / (LONG - SHORT)


def main(n: int = 300) -> dict[str, Any]:
    """Run every measurement; print the table; return the figures (seconds of CPU per op)."""
    m = max(20, n // 10)
    with BenchServer() as srv:
        igris, theirs = _llms(srv.base_url)
        igris_embed, their_embed = _embedders(srv.base_url)

        def chat(llm: Any) -> Callable[[], Any]:
            return lambda: llm.chat(MESSAGES)

        def achat(llm: Any) -> Callable[[], Any]:
            async def call() -> Any:
                return await llm.achat(MESSAGES)

            return call

        def stream(llm: Any) -> Callable[[int], None]:
            def run(words: int) -> None:
                for _ in llm.stream_chat(MESSAGES, max_tokens=words):
                    pass

            return run

        def astream(llm: Any) -> Callable[[int], Any]:
            async def run(words: int) -> None:
                async for _ in await llm.astream_chat(MESSAGES, max_tokens=words):
                    pass

            return run

        def embed(model: Any) -> Callable[[], Any]:
            return lambda: model.get_text_embedding_batch(TEXTS)

        # For information: OpenAILike builds a tenacity retry wrapper per call when retries are
        # on (its default); without retries its per-call cost is lower.
        no_retries = OpenAILike(
            api_base=srv.base_url + "/llm/bench/v1",
            api_key="x",
            model="gpt-4o",
            is_chat_model=True,
            max_retries=0,
        )
        figures = {
            "chat": {"igris": cpu_per_op(chat(igris), n), "theirs": cpu_per_op(chat(theirs), n)},
            "chat_vs_no_retries": {
                "igris": cpu_per_op(chat(igris), n),
                "theirs": cpu_per_op(chat(no_retries), n),
            },
            "stream_chunk": {
                "igris": _per_chunk(stream(igris), m),
                "theirs": _per_chunk(stream(theirs), m),
            },
            "achat": {
                "igris": acpu_per_op(achat(igris), n),
                "theirs": acpu_per_op(achat(theirs), n),
            },
            "astream_chunk": {
                "igris": _aper_chunk(astream(igris), m),
                "theirs": _aper_chunk(astream(theirs), m),
            },
            "embed_batch_64": {
                "igris": cpu_per_op(embed(igris_embed), m, warmup=5),
                "theirs": cpu_per_op(embed(their_embed), m, warmup=5),
            },
        }
    ratios = {name: f["igris"] / f["theirs"] for name, f in figures.items()}
    print(f"\nllama_index_igris benchmark on {machine()}")
    rows = [
        ("per chat", figures["chat"]["igris"], figures["chat"]["theirs"], CHAT_TARGET),
        (
            "per chat (OpenAILike with max_retries=0)",
            figures["chat_vs_no_retries"]["igris"],
            figures["chat_vs_no_retries"]["theirs"],
            None,
        ),
        (
            "per streamed chunk (stream_chat)",
            figures["stream_chunk"]["igris"],
            figures["stream_chunk"]["theirs"],
            CHUNK_TARGET,
        ),
        ("per achat", figures["achat"]["igris"], figures["achat"]["theirs"], None),
        (
            "per streamed chunk (astream_chat)",
            figures["astream_chunk"]["igris"],
            figures["astream_chunk"]["theirs"],
            None,
        ),
        (
            "per embedding batch of 64 texts",
            figures["embed_batch_64"]["igris"],
            figures["embed_batch_64"]["theirs"],
            None,
        ),
    ]
    print_table("client CPU: IgrisLLM / IgrisEmbedding vs OpenAILike / OpenAIEmbedding", rows)
    print("\nratios (ours / theirs): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    return {"rows": rows, "figures": figures, "ratios": ratios}


if __name__ == "__main__":
    main()
