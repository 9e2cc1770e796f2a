"""`make bench`: run every benchmark side by side in one run and rewrite BENCHMARKS.md.

Each benchmark module exposes ``main() -> dict`` whose ``"rows"`` is a list of
``(measure, ours_seconds, peer_seconds, target_ratio_or_None)``; other keys are extra figures
printed as they are.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._measure import machine

MODULES = [
    ("igris_core", "benchmarks.bench_core"),
    ("igris_core (SSE)", "benchmarks.bench_sse"),
    ("local gateway", "benchmarks.bench_gateway"),
    ("langchain_igris", "benchmarks.bench_langchain"),
    ("llama_index_igris", "benchmarks.bench_llama_index"),
    ("models per request (shared pool)", "benchmarks.bench_pool"),
    ("load and leaks", "benchmarks.bench_load"),
    ("ray scale-out", "benchmarks.bench_ray"),
]
PACKAGES = [
    "httpx",
    "pydantic",
    "openai",
    "langchain-core",
    "langchain-openai",
    "llama-index-core",
    "llama-index-llms-openai-like",
    "llama-index-embeddings-openai",
    "starlette",
    "uvicorn",
    "ray",
]
ROOT = Path(__file__).resolve().parent.parent


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def main() -> int:
    rows: list[tuple[str, str, float, float, float | None]] = []
    extras: dict[str, Any] = {}
    for label, module_name in MODULES:
        print(f"\n=== {label} ({module_name}) ===", flush=True)
        result = importlib.import_module(module_name).main()
        for measure, ours, peer, target in result.get("rows", []):
            rows.append((label, measure, ours, peer, target))
        extras[label] = {k: v for k, v in result.items() if k != "rows"}
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    lines = [
        "# Benchmarks",
        "",
        "Rewritten by `make bench` (`benchmarks/run_all.py`). Every ratio is ours / the peer,",
        "measured side by side in one run: client CPU time of this process (`time.process_time`),",
        "against one local HTTP server running in another process (`benchmarks/_server.py`), so",
        "the server's work is not counted. Lower is better; the target is the issue's bar.",
        "",
        f"- Run: {datetime.date.today().isoformat()}, machine: {machine()}",
        f"- Versions: {versions}",
        "- Reproduce: `make bench`",
        "",
        "| package | measure | ours | peer | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    missed = 0
    for label, measure, ours, peer, target in rows:
        ratio = ours / peer if peer else float("nan")
        met = "-" if target is None else ("yes" if ratio <= target else "**no**")
        missed += met == "**no**"
        target_text = "-" if target is None else f"<= {target:.2f}"
        lines.append(
            f"| {label} | {measure} | {_fmt(ours)} | {_fmt(peer)} | {ratio:.2f} | "
            f"{target_text} | {met} |"
        )
    lines += [
        "",
        "## Other figures",
        "",
        "```json",
        json.dumps(extras, indent=2, default=str),
        "```",
        "",
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwrote BENCHMARKS.md ({len(rows)} ratios, {missed} targets missed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
