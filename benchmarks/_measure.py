"""Measuring client CPU per operation, side by side, and printing ratio tables."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def cpu_per_op(fn: Callable[[], Any], n: int, warmup: int = 20, rounds: int = 5) -> float:
    """Seconds of this process's CPU per call of ``fn``: the median of ``rounds`` rounds."""
    for _ in range(warmup):
        fn()
    results = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for _ in range(n):
            fn()
        results.append((time.process_time() - start) / n)
    return statistics.median(results)


def acpu_per_op(
    fn: Callable[[], Awaitable[Any]], n: int, warmup: int = 20, rounds: int = 5
) -> float:
    """The async form of :func:`cpu_per_op` (one event loop for all rounds)."""

    async def run() -> float:
        for _ in range(warmup):
            await fn()
        results = []
        for _ in range(rounds):
            gc.collect()
            start = time.process_time()
            for _ in range(n):
                await fn()
            results.append((time.process_time() - start) / n)
        return statistics.median(results)

    return asyncio.run(run())


def wall_per_op(fn: Callable[[], Any], rounds: int = 3, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn`` (for whole jobs such as embedding 10,000 texts)."""
    for _ in range(warmup):
        fn()
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        results.append(time.perf_counter() - start)
    return statistics.median(results)


def subprocess_cpu(code: str, rounds: int = 5) -> float:
    """Median CPU seconds (user + sys) of a fresh interpreter running ``code``."""
    import resource

    results = []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        results.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(results)


def machine() -> str:
    """A one-line description of the machine and interpreter."""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(title: str, rows: Sequence[tuple[str, float, float, float | None]]) -> None:
    """Print (name, ours, theirs, target) rows with ours/theirs ratios."""
    print(f"\n## {title}")
    print(f"{'measure':48} {'ours':>12} {'peer':>12} {'ratio':>7} {'target':>7}")
    for name, ours, theirs, target in rows:
        ratio = ours / theirs if theirs else float("nan")
        tgt = f"{target:.2f}" if target is not None else "-"
        flag = "" if target is None or ratio <= target else "  MISSED"
        print(f"{name:48} {ours * 1e6:10.1f}us {theirs * 1e6:10.1f}us {ratio:7.2f} {tgt:>7}{flag}")
