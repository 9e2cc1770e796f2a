"""SSE decoder throughput: many 1 KB events, and one 32 MiB line fed in 64 KiB pieces.

Decoding must be linear in the input: the big line's cost per byte stays within 2x the small
events' (it was quadratic: 5.4 s for one 32 MiB line). Run: ``python -m benchmarks.bench_sse``.
"""

from __future__ import annotations

import time
from typing import Any

from igris_core._sse import SSEDecoder

MIB = 1024 * 1024
PIECE = 64 * 1024


def _small_events(total: int) -> bytes:
    event = b"data: " + b"x" * (1024 - 8) + b"\n\n"  # 1 KB per event
    return event * (total // len(event))


def _one_line(total: int) -> bytes:
    return b"data: " + b"y" * (total - 8) + b"\n\n"


def _feed_seconds(body: bytes, max_event_bytes: int) -> float:
    pieces = [body[i : i + PIECE] for i in range(0, len(body), PIECE)]
    best = float("inf")
    for _ in range(3):
        decoder = SSEDecoder(max_event_bytes)
        start = time.perf_counter()
        events = 0
        for piece in pieces:
            events += len(decoder.feed(piece))
        best = min(best, time.perf_counter() - start)
        assert events >= 1
    return best


def main() -> dict[str, Any]:
    """Throughput in MB/s of both shapes, and the per-byte ratio (target <= 2)."""
    size = 32 * MIB
    small = _feed_seconds(_small_events(size), size)
    line = _feed_seconds(_one_line(size), 2 * size)
    figures = {
        "SSE decoder, 1 KB events (MB/s)": round(size / small / 1e6, 1),
        "SSE decoder, one 32 MiB line in 64 KiB pieces (MB/s)": round(size / line / 1e6, 1),
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    return {
        "rows": [("SSE decoder per byte: one 32 MiB line vs 1 KB events", line, small, 2.0)],
        **figures,
    }


if __name__ == "__main__":
    main()
