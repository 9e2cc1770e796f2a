"""Echo throughput of the local gateway: requests per second, non-streaming and streaming.

The gateway runs in its own process (the CLI on a free port), so the figures measure the server,
not a thread sharing the client's interpreter. A few concurrent ``httpx`` clients (one connection
each) send short echo requests for a fixed time. Not a test: run it with

    python benchmarks/bench_gateway.py [--duration 3] [--concurrency 8]

``main()`` returns the figures as a dict (``benchmarks/run_all.py`` collects them).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx

from igris_core import protocol

API_KEY = "ig_local_bench"
SLUG = "openai-prod"
PROMPT = "Say hello to the benchmark in a few words"  # a short answer: 9 words, 9 chunks
TIMEOUT = 30.0


def start_gateway() -> tuple[subprocess.Popen[str], str]:
    """Start the CLI on a free port; return the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "igris_core.local_gateway", "--port", "0", "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    prefix = f"export {protocol.ENV_BASE_URL}="
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return process, line[len(prefix) :].strip()
    process.kill()
    raise RuntimeError("the gateway did not start")


async def _worker(
    base_url: str, stream: bool, stop_at: float, latencies: list[float], counts: list[int]
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
    }
    path = protocol.chat_completions_path(SLUG)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT) as client:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.post(path, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.text}")
            if stream and not response.text.rstrip().endswith(f"data: {protocol.SSE_DONE}"):
                raise RuntimeError("a stream ended without [DONE]")
            latencies.append(time.perf_counter() - started)
            counts[0] += 1


async def measure(
    base_url: str, *, stream: bool, duration: float, concurrency: int
) -> dict[str, float]:
    """Requests per second and latency percentiles of one mode."""
    await asyncio.gather(
        *(_worker(base_url, stream, time.perf_counter() + 0.3, [], [0]) for _ in range(concurrency))
    )  # warm-up: connections opened, code paths hot
    latencies: list[float] = []
    counts = [0]
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(
        *(_worker(base_url, stream, stop_at, latencies, counts) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": counts[0] / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000 if ordered else 0.0,
        "requests": float(counts[0]),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print a table, return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per mode")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    args = parser.parse_args(argv)
    process, base_url = start_gateway()
    try:
        plain = asyncio.run(
            measure(base_url, stream=False, duration=args.duration, concurrency=args.concurrency)
        )
        streamed = asyncio.run(
            measure(base_url, stream=True, duration=args.duration, concurrency=args.concurrency)
        )
    finally:
        process.terminate()
        process.wait(timeout=15)
    print(
        f"local gateway echo, {args.concurrency} concurrent clients, {args.duration:g} s per mode"
    )
    print(f"{'mode':<14}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'requests':>10}")
    for name, figures in (("non-streaming", plain), ("streaming", streamed)):
        print(
            f"{name:<14}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
            f"{figures['p95_ms']:>10.2f}{figures['requests']:>10.0f}"
        )
    return {
        "gateway_echo_rps": plain["rps"],
        "gateway_echo_p50_ms": plain["p50_ms"],
        "gateway_echo_stream_rps": streamed["rps"],
        "gateway_echo_stream_p50_ms": streamed["p50_ms"],
        "concurrency": float(args.concurrency),
    }


if __name__ == "__main__":
    main()
