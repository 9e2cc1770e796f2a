"""Ray scale-out: records per second of examples/ray_pipeline.py with 1 and with 2 actors.

The local gateway runs in its own process (as a real gateway would be elsewhere), Ray on a local
instance with 2 CPUs, the pipeline embeds a generated corpus (no chat step, so the figure is the
embedding path's). Wall-clock, best of ``REPEATS`` runs after one warm-up that starts the actors.

Run alone: ``.venv/bin/python -m benchmarks.bench_ray [records]``.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDS = 20_000
REPEATS = 2


def _serve(conn: Connection) -> None:
    from igris_core.local_gateway import LocalGateway

    with LocalGateway() as gateway:
        conn.send((gateway.base_url, gateway.api_key))
        conn.recv()  # until the benchmark is done


def _load_pipeline() -> Any:
    spec = importlib.util.spec_from_file_location(
        "ray_pipeline", ROOT / "examples" / "ray_pipeline.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ray_pipeline"] = module
    spec.loader.exec_module(module)
    return module


def main(records: int = RECORDS) -> dict[str, Any]:
    """Records per second for 1 and 2 actors; a row: seconds per 1,000 records, 2 vs 1 actor."""
    import ray
    import ray.cloudpickle

    pipeline = _load_pipeline()
    ray.cloudpickle.register_pickle_by_value(pipeline)
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(theirs,))
    server.start()
    try:
        base_url, api_key = ours.recv()
        os.environ["IGRIS_BASE_URL"], os.environ["IGRIS_API_KEY"] = base_url, api_key
        pipeline.init_ray(num_cpus=2)
        corpus = pipeline.generated_records(records, "bench")
        per_second: dict[int, float] = {}
        for actors in (1, 2):
            pipeline.run_pipeline(corpus[:500], chat_model=None, actors=actors)  # warm-up
            best = min(
                pipeline.run_pipeline(corpus, chat_model=None, actors=actors).seconds
                for _ in range(REPEATS)
            )
            per_second[actors] = records / best
            print(f"{actors} actor(s): {per_second[actors]:,.0f} records/s", flush=True)
    finally:
        ray.shutdown()
        ours.send("stop")
        server.join(timeout=10)
    per_thousand = {n: 1000 / rate for n, rate in per_second.items()}
    return {
        "rows": [
            (
                f"Ray Data embedding, s per 1,000 records: 2 actors vs 1 ({records:,} records)",
                per_thousand[2],
                per_thousand[1],
                None,
            )
        ],
        "records_per_second": {f"{n} actor(s)": round(rate) for n, rate in per_second.items()},
    }


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RECORDS)
