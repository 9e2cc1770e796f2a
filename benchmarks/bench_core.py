"""igris_core client CPU vs raw httpx and the official openai SDK, against one local server in
another process (benchmarks/_server.py). Prints ratios; `main()` returns the figures.

Per streamed chunk is measured as the CPU difference between a long and a short stream divided
by the difference in chunks, so the per-call overhead cancels out.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

from benchmarks._measure import cpu_per_op, machine, print_table, subprocess_cpu
from benchmarks._server import BenchServer
from igris_core import Igris

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
LONG, SHORT = 400, 10


def main(n: int = 300) -> dict[str, Any]:
    with BenchServer() as srv:
        igris = Igris("bench-key", base_url=srv.base_url, max_retries=0)
        raw = httpx.Client()
        oai = openai.OpenAI(
            base_url=srv.base_url + "/llm/bench/v1", api_key="bench-key", max_retries=0
        )
        url = srv.base_url + "/llm/bench/v1/chat/completions"
        headers = {"Authorization": "Bearer bench-key"}

        def igris_call() -> None:
            igris.chat.completions.create(model="@bench/gpt-4o", messages=MESSAGES)

        def raw_call() -> None:
            r = raw.post(url, json={"model": "gpt-4o", "messages": MESSAGES}, headers=headers)
            json.loads(r.content)

        def oai_call() -> None:
            oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]

        def igris_stream(words: int) -> None:
            for _ in igris.chat.completions.create(
                model="@bench/gpt-4o", messages=MESSAGES, stream=True, max_tokens=words
            ):
                pass

        def raw_stream(words: int) -> None:
            body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True, "max_tokens": words}
            with raw.stream("POST", url, json=body, headers=headers) as r:
                for line in r.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])

        def oai_stream(words: int) -> None:
            for _ in oai.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
                max_tokens=words,
                stream_options={"include_usage": True},
            ):
                pass

        per_call = {
            "igris": cpu_per_op(igris_call, n),
            "httpx": cpu_per_op(raw_call, n),
            "openai": cpu_per_op(oai_call, n),
        }

        def per_chunk(fn: Any) -> float:
            m = max(20, n // 10)
            long = cpu_per_op(lambda: fn(LONG), m, warmup=3)
            short = cpu_per_op(lambda: fn(SHORT), m, warmup=3)
            return (long - short) / (LONG - SHORT)

        chunk = {
            "igris": per_chunk(igris_stream),
            "httpx": per_chunk(raw_stream),
            "openai": per_chunk(oai_stream),
        }
        igris.close()
        raw.close()
        oai.close()
    imports = {
        "igris": subprocess_cpu("import igris_core"),
        "openai": subprocess_cpu("import openai"),
        "python": subprocess_cpu("pass"),
    }
    rows = [
        ("per call: Igris vs raw httpx", per_call["igris"], per_call["httpx"], 1.3),
        ("per call: Igris vs openai SDK", per_call["igris"], per_call["openai"], 0.6),
        ("per chunk: Igris vs httpx + json.loads", chunk["igris"], chunk["httpx"], 2.0),
        ("per chunk: Igris vs openai SDK", chunk["igris"], chunk["openai"], None),
        (
            "import (CPU minus a bare interpreter): igris_core vs openai",
            imports["igris"] - imports["python"],
            imports["openai"] - imports["python"],
            None,
        ),
    ]
    print(f"\nigris_core client benchmark on {machine()}")
    print_table("client CPU per operation", rows)
    return {"rows": rows, "per_call": per_call, "per_chunk": chunk, "import": imports}


if __name__ == "__main__":
    main()
