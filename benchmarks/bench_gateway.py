"""Echo throughput of the local gateway: requests per second, non-streaming and streaming.

The gateway runs in its own process (the CLI on a free port), so the figures measure the server,
not a thread sharing the client's interpreter. A few concurrent ``httpx`` clients (one connection
each) send short echo requests for a fixed time. Three setups, measured interleaved: ``--quiet``
(no request log), the default (one log line per call on stderr), and the default with an audit
page polling its JSON entries twice a second. Then the latency of plain calls while 10 hostile
calls (huge schemas, a catastrophic pattern) run. Not a test: run it with

    python benchmarks/bench_gateway.py [--duration 3] [--concurrency 8]

``main()`` returns the figures as a dict (``benchmarks/run_all.py`` collects them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
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


def start_gateway(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI on a free port; return the process and its base URL. Its log lines go to
    /dev/null: the gateway still formats and writes each one."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "igris_core.local_gateway",
            "--port",
            "0",
            "--api-key",
            API_KEY,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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


def server_cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) the gateway process has used so far (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    base_url: str, *, stream: bool, duration: float, concurrency: int, pid: int | None = None
) -> dict[str, float]:
    """Requests per second, latency percentiles, and the server's CPU time per request (far
    steadier than throughput on a busy machine) of one mode."""
    await asyncio.gather(
        *(_worker(base_url, stream, time.perf_counter() + 0.3, [], [0]) for _ in range(concurrency))
    )  # warm-up: connections opened, code paths hot
    latencies: list[float] = []
    counts = [0]
    cpu_before = server_cpu_seconds(pid)
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(
        *(_worker(base_url, stream, stop_at, latencies, counts) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    cpu = server_cpu_seconds(pid) - cpu_before
    ordered = sorted(latencies)
    return {
        "server_cpu_ms_per_request": cpu * 1000 / max(1, counts[0]),
        "rps": counts[0] / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000 if ordered else 0.0,
        "requests": float(counts[0]),
    }


async def _poll_audit(base_url: str, stop: asyncio.Event) -> None:
    """What an open audit page does: fetch the new entries twice a second."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    last = 0
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT) as client:
        while not stop.is_set():
            answer = await client.get(protocol.LOCAL_AUDIT_ENTRIES_PATH, params={"after": last})
            last = answer.json()["last"]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def measure_with_page(
    base_url: str, *, stream: bool, duration: float, concurrency: int, pid: int | None = None
) -> dict[str, float]:
    """:func:`measure` while an audit page polls."""
    stop = asyncio.Event()
    poller = asyncio.create_task(_poll_audit(base_url, stop))
    try:
        return await measure(
            base_url, stream=stream, duration=duration, concurrency=concurrency, pid=pid
        )
    finally:
        stop.set()
        await poller


def _hostile_bodies() -> list[dict[str, Any]]:
    def structured(schema: dict[str, Any], text: str = "hello") -> dict[str, Any]:
        return {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": text}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "s", "schema": schema},
            },
        }

    nested: dict[str, Any] = {"type": "string"}
    for _ in range(6):
        nested = {"type": "array", "items": nested, "minItems": 12}
    biggest = structured(
        {"type": "array", "items": {"type": "string", "pattern": "^(a+)+$"}, "minItems": 5000},
        "a" * 27 + "b",
    )
    return [
        structured({"type": "string", "minLength": 300_000_000}),
        structured({"type": "array", "items": {"type": "string"}, "minItems": 3_000_000}),
        structured(nested),
        structured({"type": "object", "minProperties": 1_000_000}),
        structured({"type": "string", "pattern": "^(a+)+$"}, "a" * 27 + "b"),
        *[biggest] * 5,
    ]


async def hostile_latency(base_url: str, plain_calls: int = 100) -> dict[str, float]:
    """Latency of plain calls, one after another, while 10 hostile calls run (repeated)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    path = protocol.chat_completions_path(SLUG)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}
    latencies: list[float] = []
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT) as hostile,
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT) as plain,
    ):
        await plain.post(path, json=body)
        stop = asyncio.Event()

        async def attack(attack_body: dict[str, Any]) -> None:
            while not stop.is_set():
                await hostile.post(path, json=attack_body)

        attacks = [asyncio.create_task(attack(b)) for b in _hostile_bodies()]
        await asyncio.sleep(0.2)
        for _ in range(plain_calls):
            started = time.perf_counter()
            answer = await plain.post(path, json=body)
            assert answer.status_code == 200
            latencies.append(time.perf_counter() - started)
        stop.set()
        await asyncio.gather(*attacks)
    ordered = sorted(latencies)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table, return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per mode")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    args = parser.parse_args(argv)
    setups = {"quiet": ("--quiet",), "log": (), "log+page": ()}
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, extra in setups.items():
        process, base_url = start_gateway(*extra)
        run = measure_with_page if name == "log+page" else measure
        try:
            figures[name] = {
                mode: asyncio.run(
                    run(
                        base_url,
                        stream=mode == "stream",
                        duration=args.duration,
                        concurrency=args.concurrency,
                        pid=process.pid,
                    )
                )
                for mode in ("plain", "stream")
            }
            if name == "log":
                hostile = asyncio.run(hostile_latency(base_url))
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(
        f"local gateway echo, {args.concurrency} concurrent clients, {args.duration:g} s per mode"
    )
    print(
        f"{'setup':<10}{'mode':<8}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'requests':>10}"
        f"{'cpu ms/req':>12}"
    )
    for name, modes in figures.items():
        for mode, f in modes.items():
            print(
                f"{name:<10}{mode:<8}{f['rps']:>10.0f}{f['p50_ms']:>10.2f}"
                f"{f['p95_ms']:>10.2f}{f['requests']:>10.0f}"
                f"{f['server_cpu_ms_per_request']:>12.3f}"
            )
    print(
        f"plain calls while 10 hostile ones run: p50 {hostile['p50_ms']:.1f} ms, "
        f"p99 {hostile['p99_ms']:.1f} ms"
    )

    def per_request(name: str, mode: str) -> float:
        return figures[name][mode]["server_cpu_ms_per_request"] / 1000

    rows = [
        (
            f"server CPU per request, {mode}: {name} vs --quiet",
            per_request(name, mode),
            per_request("quiet", mode),
            1.10,
        )
        for name in ("log", "log+page")
        for mode in ("plain", "stream")
    ]
    rows.append(
        (
            "p99 of a plain call while 10 hostile calls run vs 100 ms",
            hostile["p99_ms"] / 1000,
            0.1,
            1.0,
        )
    )
    return {
        "rows": rows,
        "gateway_echo_rps": figures["log"]["plain"]["rps"],
        "gateway_echo_p50_ms": figures["log"]["plain"]["p50_ms"],
        "gateway_echo_stream_rps": figures["log"]["stream"]["rps"],
        "gateway_echo_stream_p50_ms": figures["log"]["stream"]["p50_ms"],
        "gateway_cpu_ms_per_request": {
            f"{name} {mode}": f["server_cpu_ms_per_request"]
            for name, modes in figures.items()
            for mode, f in modes.items()
        },
        "gateway_echo_quiet_rps": figures["quiet"]["plain"]["rps"],
        "gateway_echo_quiet_stream_rps": figures["quiet"]["stream"]["rps"],
        "gateway_echo_page_rps": figures["log+page"]["plain"]["rps"],
        "gateway_echo_page_stream_rps": figures["log+page"]["stream"]["rps"],
        "hostile_plain_p50_ms": hostile["p50_ms"],
        "hostile_plain_p99_ms": hostile["p99_ms"],
        "concurrency": float(args.concurrency),
    }


if __name__ == "__main__":
    main()
