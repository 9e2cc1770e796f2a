"""Models built per request over the shared pool: client CPU of constructing a ``ChatIgris`` /
``IgrisLLM`` (each with its own key and identity, as a web app builds one per request) and
making one call, against one local server in another process (benchmarks/_server.py); and the
per-call CPU of a framework model's core client vs raw httpx. Only public APIs, so the same
file measures an older tree too (``PYTHONPATH=<old>/src``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks._measure import acpu_per_op, cpu_per_op, machine, print_table
from benchmarks._server import BenchServer
from igris_core import AsyncIgris, Igris

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def main(n: int = 200) -> dict[str, Any]:
    from langchain_igris import ChatIgris
    from llama_index_igris import IgrisLLM

    with BenchServer() as srv:
        base_url = srv.base_url
        url = base_url + "/llm/bench/v1/chat/completions"
        raw = httpx.Client()
        raw_async = httpx.AsyncClient()
        users = iter(range(10**9))

        def raw_call() -> None:
            r = raw.post(
                url,
                json={"model": "gpt-4o", "messages": MESSAGES},
                headers={"Authorization": "Bearer bench-key"},
            )
            json.loads(r.content)

        async def raw_acall() -> None:
            r = await raw_async.post(
                url,
                json={"model": "gpt-4o", "messages": MESSAGES},
                headers={"Authorization": "Bearer bench-key"},
            )
            json.loads(r.content)

        def per_request(cls: Any, call: str) -> Callable[[], None]:
            """A model built with its own key and user, then one call: a web request."""

            def run() -> None:
                user = f"user-{next(users)}"
                llm = cls(
                    model="@bench/gpt-4o",
                    base_url=base_url,
                    api_key=f"key-{user}",
                    igris_user=user,
                    max_retries=0,
                )
                getattr(llm, call)("What is the capital of France?")

            return run

        chat_per_request = per_request(ChatIgris, "invoke")
        llama_per_request = per_request(IgrisLLM, "complete")
        chat = ChatIgris(model="@bench/gpt-4o", base_url=base_url, api_key="k", max_retries=0)
        llama = IgrisLLM(model="@bench/gpt-4o", base_url=base_url, api_key="k", max_retries=0)
        igris = Igris("bench-key", base_url=base_url, max_retries=0)
        aigris = AsyncIgris("bench-key", base_url=base_url, max_retries=0)

        def igris_call() -> None:
            igris.chat.completions.create(model="@bench/gpt-4o", messages=MESSAGES)

        async def aigris_call() -> None:
            await aigris.chat.completions.create(model="@bench/gpt-4o", messages=MESSAGES)

        figures = {
            "raw httpx call": cpu_per_op(raw_call, n),
            "raw httpx async call": acpu_per_op(raw_acall, n),
            "Igris call": cpu_per_op(igris_call, n),
            "AsyncIgris call": acpu_per_op(aigris_call, n),
            "ChatIgris.invoke (built once)": cpu_per_op(lambda: chat.invoke("Hi"), n),
            "ChatIgris built + invoke, per request": cpu_per_op(chat_per_request, n),
            "IgrisLLM.complete (built once)": cpu_per_op(lambda: llama.complete("Hi"), n),
            "IgrisLLM built + complete, per request": cpu_per_op(llama_per_request, n),
        }
        raw.close()
        igris.close()
        # raw_async is left to the interpreter: its connections belong to a closed loop.
    rows = [
        ("per call: Igris vs raw httpx", figures["Igris call"], figures["raw httpx call"], 1.1),
        (
            "per call: AsyncIgris vs raw httpx",
            figures["AsyncIgris call"],
            figures["raw httpx async call"],
            1.1,
        ),
        (
            "ChatIgris: built per request + invoke vs built once",
            figures["ChatIgris built + invoke, per request"],
            figures["ChatIgris.invoke (built once)"],
            None,
        ),
        (
            "IgrisLLM: built per request + complete vs built once",
            figures["IgrisLLM built + complete, per request"],
            figures["IgrisLLM.complete (built once)"],
            None,
        ),
    ]
    print(f"\nmodels per request over the shared pool, on {machine()}")
    for name, seconds in figures.items():
        print(f"  {name:45s} {seconds * 1e6:9.1f} us CPU")
    print_table("client CPU per operation", rows)
    return {"rows": rows, "figures": figures}


if __name__ == "__main__":
    main()
