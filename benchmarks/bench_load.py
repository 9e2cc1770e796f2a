"""Load and leak runs: many concurrent calls through one client with
a bounded connection pool, and thousands of streams (some broken off early by the caller)
without a connection, a file descriptor or memory left behind.

- 1,000 concurrent ``create`` calls through one ``AsyncIgris``, and 1,000 concurrent
  ``ainvoke`` calls through one ``ChatIgris``: every answer checked, the client's TCP
  connections to the gateway sampled (psutil) and their peak compared with the pool's limit.
- 5,000 streams through one ``AsyncIgris`` and 5,000 through one ``Igris`` (one in five broken
  off early in various ways: ``break``, ``close()``, leaving an ``async with``, never read),
  then the clients closed: open file descriptors and connections before and after, and memory
  (RSS and tracemalloc's Python heap) at each 1,000 streams; growth per 1,000 after the first
  1,000 (warm-up).

The gateway runs in another process (``python -m igris_core.local_gateway``), so the figures
are the client's alone. The test suite (tests/reliability/test_load.py) runs lighter versions
of the same functions against an in-process gateway.

Run: ``python -m benchmarks.bench_load`` (or ``python benchmarks/bench_load.py``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx
import psutil

from igris_core import AsyncIgris, Igris
from igris_core._transport import DEFAULT_LIMITS

CHAT_MODEL = "@openai-prod/gpt-4o"
POOL_LIMIT = DEFAULT_LIMITS.max_connections
KEEPALIVE_LIMIT = DEFAULT_LIMITS.max_keepalive_connections


# --- measuring the process --------------------------------------------------------------------
def client_connections(port: int) -> int:
    """TCP sockets of this process connected to ``port`` (the client side; any state)."""
    return sum(
        1 for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port
    )


def open_fds() -> int:
    """File descriptors this process holds."""
    return psutil.Process().num_fds()


def rss_mib() -> float:
    """Resident memory of this process, MiB."""
    return psutil.Process().memory_info().rss / 2**20


class ConnectionSampler:
    """Samples :func:`client_connections` from a thread while a load runs; keeps the peak."""

    def __init__(self, port: int, interval: float = 0.01) -> None:
        self.port = port
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, client_connections(self.port))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, client_connections(self.port))


class PoolSampler:
    """Counts the connections in an ``httpx.AsyncClient``'s pool on every turn of the event
    loop (an exact peak, read from httpcore's pool; ``None`` if that internal moves)."""

    def __init__(self, http_client: httpx.AsyncClient) -> None:
        transport = getattr(http_client, "_transport", None)
        self._pool = getattr(transport, "_pool", None)
        self.peak: int | None = None if self._pool is None else 0
        self.peak_in_flight: int | None = self.peak
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0)

    def sample(self) -> None:
        pool = self._pool
        if pool is not None and self.peak is not None and self.peak_in_flight is not None:
            self.peak = max(self.peak, len(pool.connections))
            # Requests handed to the pool and not yet answered: queued or on a connection.
            self.peak_in_flight = max(self.peak_in_flight, len(getattr(pool, "_requests", ())))

    async def __aenter__(self) -> PoolSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task


def port_of(base_url: str) -> int:
    """The port of a base URL."""
    port = httpx.URL(base_url).port
    assert port is not None
    return port


def settle(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait until ``check()`` holds (sockets closing on the other side take a moment)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- concurrent calls ---------------------------------------------------------------------------
def _prompt(i: int) -> str:
    return f"concurrent call number {i}"


class InFlight:
    """Counts the calls the application has started and not yet seen finish."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def run(self, call: Awaitable[Any]) -> Any:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            return await call
        finally:
            self.now -= 1


async def concurrent_async_igris(base_url: str, api_key: str, n: int) -> dict[str, Any]:
    """``n`` concurrent chat calls through one ``AsyncIgris``."""
    port = port_of(base_url)
    calls = InFlight()
    started = time.perf_counter()
    with ConnectionSampler(port) as sampler:
        async with (
            AsyncIgris(api_key, base_url=base_url, max_retries=2) as client,
            PoolSampler(client._transport.client) as pool,
        ):
            answers = await asyncio.gather(
                *(
                    calls.run(
                        client.chat.completions.create(
                            model=CHAT_MODEL, messages=[{"role": "user", "content": _prompt(i)}]
                        )
                    )
                    for i in range(n)
                ),
                return_exceptions=True,
            )
    seconds = time.perf_counter() - started
    ok = sum(
        1
        for i, a in enumerate(answers)
        if not isinstance(a, BaseException) and a.choices[0].message.content == _prompt(i)
    )
    errors = [repr(a) for a in answers if isinstance(a, BaseException)][:3]
    return {
        "client": "AsyncIgris",
        "calls": n,
        "ok": ok,
        "errors": errors,
        "seconds": round(seconds, 3),
        "peak_client_connections": sampler.peak,
        "peak_pool_connections": pool.peak,
        "peak_requests_in_flight": pool.peak_in_flight,
        "peak_calls_in_flight": calls.peak,
        "pool_limit": POOL_LIMIT,
        "samples": sampler.samples,
    }


async def concurrent_chat_igris(base_url: str, api_key: str, n: int) -> dict[str, Any]:
    """``n`` concurrent ``ainvoke`` calls through one ``ChatIgris``."""
    from langchain_igris import ChatIgris

    port = port_of(base_url)
    llm = ChatIgris(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=2)
    client = llm._clients().async_()  # the model's core client on this loop
    calls = InFlight()
    started = time.perf_counter()
    with ConnectionSampler(port) as sampler:
        async with PoolSampler(client._transport.client) as pool:
            answers = await asyncio.gather(
                *(calls.run(llm.ainvoke(_prompt(i))) for i in range(n)), return_exceptions=True
            )
    seconds = time.perf_counter() - started
    ok = sum(
        1
        for i, a in enumerate(answers)
        if not isinstance(a, BaseException) and a.content == _prompt(i)
    )
    errors = [repr(a) for a in answers if isinstance(a, BaseException)][:3]
    # The pool of this loop is shared by every model, whose clients never close it: close it
    # here so that the connection count ends at zero (the transport opens another if needed).
    await client._transport.client.aclose()
    return {
        "client": "ChatIgris",
        "calls": n,
        "ok": ok,
        "errors": errors,
        "seconds": round(seconds, 3),
        "peak_client_connections": sampler.peak,
        "peak_pool_connections": pool.peak,
        "peak_requests_in_flight": pool.peak_in_flight,
        "peak_calls_in_flight": calls.peak,
        "pool_limit": POOL_LIMIT,
        "samples": sampler.samples,
    }


# --- streams, some broken off early --------------------------------------------------------------
STREAM_MESSAGES = [{"role": "user", "content": "one two three four five six seven eight nine"}]
EXPECTED = STREAM_MESSAGES[0]["content"]


@dataclass
class StreamCounts:
    """How the streams of a run ended."""

    full: int = 0
    broken_off: int = 0
    wrong: list[str] = field(default_factory=list)


async def one_async_stream(client: AsyncIgris, i: int, counts: StreamCounts) -> None:
    """Stream ``i``: read whole, or (one in five) broken off early in one of five ways."""
    stream = await client.chat.completions.create(
        model=CHAT_MODEL, messages=STREAM_MESSAGES, stream=True
    )
    way = i % 25  # 0..4: broken off, each its own way; the rest: read whole
    if way == 0:  # break out of a bare loop (the generator is finalised by the event loop)
        async for _ in stream:
            break
    elif way == 1:  # break inside `async with`
        async with stream:
            async for _ in stream:
                break
    elif way == 2:  # aclose() half-way
        n = 0
        async for _ in stream:
            n += 1
            if n == 3:
                await stream.aclose()
                break
    elif way == 3:  # never read at all
        await stream.aclose()
    elif way == 4:  # an exception inside `async with`
        try:
            async with stream:
                async for _ in stream:
                    raise KeyError("the caller's own error")
        except KeyError:
            pass
    else:
        async with stream:
            answer = await stream.until_done()
        text = answer.choices[0].message.content
        if text != EXPECTED:
            counts.wrong.append(repr(text))
        counts.full += 1
        return
    counts.broken_off += 1


def one_sync_stream(client: Igris, i: int, counts: StreamCounts) -> None:
    """The sync form of :func:`one_async_stream`."""
    stream = client.chat.completions.create(model=CHAT_MODEL, messages=STREAM_MESSAGES, stream=True)
    way = i % 25
    if way == 0:  # break out of a bare loop (CPython finalises the generator at once)
        for _ in stream:
            break
    elif way == 1:
        with stream:
            for _ in stream:
                break
    elif way == 2:
        for n, _ in enumerate(stream):
            if n == 2:
                stream.close()
                break
    elif way == 3:
        stream.close()
    elif way == 4:
        try:
            with stream:
                for _ in stream:
                    raise KeyError("the caller's own error")
        except KeyError:
            pass
    else:
        with stream:
            text = stream.until_done().choices[0].message.content
        if text != EXPECTED:
            counts.wrong.append(repr(text))
        counts.full += 1
        return
    counts.broken_off += 1


@contextmanager
def traced(enabled: bool) -> Iterator[None]:
    """tracemalloc on for the block (when ``enabled``)."""
    if enabled and not tracemalloc.is_tracing():
        tracemalloc.start()
        try:
            yield
        finally:
            tracemalloc.stop()
    else:
        yield


def _memory() -> dict[str, float]:
    gc.collect()
    figures = {"rss_mib": round(rss_mib(), 2)}
    if tracemalloc.is_tracing():
        figures["traced_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 3)
    return figures


def _growth(checkpoints: list[dict[str, Any]], key: str, per: int, skip: int = 0) -> float | None:
    """Growth of ``key`` per ``per`` streams between checkpoint ``skip`` (the first one after
    warm-up) and the last."""
    if len(checkpoints) < skip + 2 or key not in checkpoints[0]:
        return None
    first, last = checkpoints[skip], checkpoints[-1]
    streams = last["streams"] - first["streams"]
    return round((last[key] - first[key]) * per / streams, 4) if streams else None


def leak_run(
    base_url: str,
    api_key: str,
    n: int,
    *,
    mode: str = "async",
    checkpoint: int = 1000,
    trace: bool = True,
    on_checkpoint: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``n`` streams through one client (``mode``: ``"async"`` or ``"sync"``), checkpoints
    every ``checkpoint`` streams, then the client closed. ``on_checkpoint`` runs before each
    measurement (the tests reset their in-process gateway there, dropping its audit trail)."""
    port = port_of(base_url)
    gc.collect()
    before = {"fds": open_fds(), "connections": client_connections(port)}
    counts = StreamCounts()
    checkpoints: list[dict[str, Any]] = []
    peak = 0
    started = time.perf_counter()

    def measure(done: int) -> None:
        nonlocal peak
        if on_checkpoint is not None:
            on_checkpoint()
        conns = client_connections(port)
        peak = max(peak, conns)
        checkpoints.append({"streams": done, "fds": open_fds(), "connections": conns, **_memory()})

    with traced(trace):
        if mode == "async":

            async def run() -> None:
                async with AsyncIgris(api_key, base_url=base_url, max_retries=2) as client:
                    for done in range(0, n, checkpoint):
                        await asyncio.gather(
                            *(
                                one_async_stream(client, i, counts)
                                for i in range(done, min(n, done + checkpoint))
                            )
                        )
                        measure(min(n, done + checkpoint))

            asyncio.run(run())
        else:
            with Igris(api_key, base_url=base_url, max_retries=2) as client:
                for done in range(0, n, checkpoint):
                    for i in range(done, min(n, done + checkpoint)):
                        one_sync_stream(client, i, counts)
                    measure(min(n, done + checkpoint))
        seconds = time.perf_counter() - started
        settle(lambda: client_connections(port) == 0)
        # An in-process gateway closes its side of each socket a moment later.
        settle(lambda: open_fds() <= before["fds"])
        gc.collect()
        after = {"fds": open_fds(), "connections": client_connections(port), **_memory()}
    per = checkpoint
    return {
        "mode": mode,
        "streams": n,
        "full": counts.full,
        "broken_off": counts.broken_off,
        "wrong_answers": counts.wrong[:3],
        "seconds": round(seconds, 2),
        "before": before,
        "after_close": after,
        "checkpoints": checkpoints,
        "peak_connections_at_checkpoints": peak,
        f"rss_growth_mib_per_{per}": _growth(checkpoints, "rss_mib", per),
        f"traced_growth_mib_per_{per}": _growth(checkpoints, "traced_mib", per),
        # RSS moves in steps (the allocator keeps arenas): the same after a longer warm-up.
        f"rss_growth_mib_per_{per}_after_2nd": _growth(checkpoints, "rss_mib", per, skip=1),
    }


# --- a gateway in another process -----------------------------------------------------------------
@contextmanager
def gateway_process() -> Iterator[tuple[str, str]]:
    """``python -m igris_core.local_gateway --port 0``: yields its base URL and key."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "igris_core.local_gateway", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = api_key = ""
        for line in proc.stdout:
            if line.startswith("export IGRIS_BASE_URL="):
                base_url = line.split("=", 1)[1].strip()
            elif line.startswith("export IGRIS_API_KEY="):
                api_key = line.split("=", 1)[1].strip()
                break
        if not base_url or not api_key:
            raise RuntimeError("the local gateway process did not start")
        yield base_url, api_key
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main(concurrent: int = 1000, streams: int = 5000) -> dict[str, Any]:
    """Run everything once against a gateway process; print and return the figures."""
    results: dict[str, Any] = {"rows": []}
    with gateway_process() as (base_url, api_key):
        # The same 200 calls as the test suite, for scale: httpcore's pool walks every queued
        # request for each request it assigns, so its cost grows with the square of the
        # requests queued beyond the pool's limit.
        for name, run, n in (
            ("concurrent_async_igris_200", concurrent_async_igris, 200),
            ("concurrent_async_igris", concurrent_async_igris, concurrent),
            ("concurrent_chat_igris", concurrent_chat_igris, concurrent),
        ):
            figures = asyncio.run(run(base_url, api_key, n))
            figures["calls_per_second"] = round(n / figures["seconds"], 1)
            results[name] = figures
            print(f"\n## {name}: {figures}", flush=True)
        for mode in ("async", "sync"):
            figures = leak_run(base_url, api_key, streams, mode=mode)
            results[f"streams_{mode}"] = figures
            print(f"\n## streams_{mode}:", flush=True)
            for key, value in figures.items():
                if key != "checkpoints":
                    print(f"  {key}: {value}")
            for point in figures["checkpoints"]:
                print(f"  checkpoint {point}")
    return results


if __name__ == "__main__":
    main()
