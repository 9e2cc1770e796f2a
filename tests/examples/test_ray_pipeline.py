"""examples/ray_pipeline.py on a local Ray instance (2 CPUs) against a local gateway.

Every record is embedded exactly once, comes back in order, and its identity (user, the job's
trace id, its source document) is on the audit entry of the request that carried it; a gateway
rate limit during the run is survived through the client's Retry-After handling; a record
denied by a policy is reported with its error, and its neighbours still succeed. The workers
get the key from the environment Ray gives them, never from a pickle.

Ray is slow to start (tens of seconds on two cores), so these tests carry the ``ray`` marker and
run in their own step (``make test-ray``, run by CI after ``make test``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from igris_core.local_gateway import LocalGateway

ray = pytest.importorskip("ray", reason="the `scale` extra (ray[data]) is not installed")

pytestmark = [
    pytest.mark.ray,
    pytest.mark.timeout(600),
    # Ray Data reads its own deprecated settings while planning a dataset.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
    pytest.mark.filterwarnings("ignore:`use_:DeprecationWarning"),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ray_pipeline.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("ray_pipeline", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ray_pipeline"] = module
    spec.loader.exec_module(module)
    return module


pipeline = _load_example()
# The example is loaded from a file, not an installed module: ship its code to the workers.
ray.cloudpickle.register_pickle_by_value(pipeline)

# The local instance runs only what these tests need, and waits patiently: on a loaded 2-core
# machine every Ray process (GCS, raylet, its two agents, the workers) starts slowly.
LOCAL_RAY_CONFIG: dict[str, Any] = {
    # Ray starts its workers at nice 15, so any other busy process on the machine starves the
    # actors (imports taking minutes); the test's own gateway runs at nice 0 too.
    "worker_niceness": 0,
    # No idle workers started ahead of time: the actor pools start the workers they use.
    "enable_worker_prestart": False,
    "prestart_worker_first_driver": False,
    # No metrics export (ray[data] has no metrics agent to send them to).
    "enable_metrics_collection": False,
    # A worker or an agent importing its modules on a starved CPU is slow, not dead.
    "worker_register_timeout_seconds": 300,
    "agent_register_timeout_ms": 300_000,
}
# Seconds for the raylet to register, which waits for its agents to start (Ray's own wait is a
# fixed 30 s); and for the GCS to publish its port (overridable by this variable).
STARTUP_SECONDS = 240
GCS_PORT_WAIT = {"RAY_gcs_server_port_wait_time_s": str(STARTUP_SECONDS)}


@contextmanager
def _patient_node_startup(seconds: float) -> Iterator[None]:
    """Let ``ray.init`` wait up to ``seconds`` for the new node to register with the GCS.

    Ray polls ``ray._private.services.get_node`` for a fixed 30 s and then gives up, though a
    raylet waiting for its agents on a busy machine is still starting. Each poll here keeps
    asking for up to ``seconds`` instead; a node that never registers still fails the fixture.
    """
    services = ray._private.services
    original = services.get_node

    def patient_get_node(gcs_address: str, node_id: str) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            try:
                return original(gcs_address, node_id)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    services.get_node = patient_get_node
    try:
        yield
    finally:
        services.get_node = original


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    with LocalGateway() as gw:
        gateway_env = {"IGRIS_BASE_URL": gw.base_url, "IGRIS_API_KEY": gw.api_key}
        with _environ({**gateway_env, **GCS_PORT_WAIT}):
            with _patient_node_startup(STARTUP_SECONDS):
                pipeline.init_ray(num_cpus=2, _system_config=LOCAL_RAY_CONFIG)
            try:
                yield gw
            finally:
                ray.shutdown()


def _ids_per_successful_request(gw: LocalGateway, route: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    for entry in gw.audit:
        if entry.route == route and entry.status == 200:
            seen.update(entry.metadata["record_ids"].split(","))
    return seen


def test_bulk_embedding_survives_a_rate_limit(gateway: LocalGateway) -> None:
    gateway.reset()
    records = pipeline.generated_records(600, "job-bulk")
    # A tight limit on the connection: the actors are refused with 429 and wait for Retry-After.
    gateway.rate_limit("bulk", limit=3, window=1.0, connection="openai-prod")

    result = pipeline.run_pipeline(records, chat_model=None, actors=2, batch_size=50)

    assert result.failed == []
    assert [r["id"] for r in result.records] == [r["id"] for r in records]  # in order
    assert all(len(r["embedding"]) > 0 for r in result.records)
    assert any(e.status == 429 and e.rule == "bulk" for e in gateway.audit), "no 429 was served"
    # Every record was carried by exactly one successful request.
    assert _ids_per_successful_request(gateway, "embeddings") == Counter(r["id"] for r in records)
    # Each request carried the identity of its records.
    by_id = {r["id"]: r for r in records}
    for entry in gateway.audit:
        if entry.route == "embeddings" and entry.status == 200:
            for record_id in entry.metadata["record_ids"].split(","):
                record = by_id[record_id]
                assert (entry.user, entry.trace_id) == (record["user"], "job-bulk")
                assert entry.metadata["source"] == record["source"]


def test_vectors_are_the_gateways_and_match_their_records(gateway: LocalGateway) -> None:
    from langchain_igris import IgrisEmbeddings

    gateway.reset()
    records = pipeline.generated_records(40, "job-check")
    result = pipeline.run_pipeline(records, chat_model=None, actors=1, batch_size=8)
    direct = IgrisEmbeddings(model=pipeline.EMBED_MODEL).embed_documents(
        [r["text"] for r in records]
    )
    for record, vector in zip(result.records, direct, strict=True):
        assert record["embedding"] == pytest.approx(vector)


def test_a_denied_record_is_reported_and_its_neighbours_finish(gateway: LocalGateway) -> None:
    gateway.reset()
    records = pipeline.handbook_records("job-handbook")
    gateway.deny("no-disk-encryption-talk", pattern="FileVault")
    denied = {r["id"] for r in records if "FileVault" in r["text"]}
    assert denied, "the handbook no longer mentions FileVault: pick another pattern"

    result = pipeline.run_pipeline(records, actors=1, batch_size=4)

    assert {r["id"] for r in result.failed} == denied
    for record in result.failed:
        assert "IgrisPolicyDeniedError" in record["error"]
        assert record["embedding"] is None
    done = [r for r in result.records if r["id"] not in denied]
    assert all(r["embedding"] and r["label"] for r in done)
    # Every chat call carried its own record's identity.
    by_id = {r["id"]: r for r in records}
    chats = [e for e in gateway.audit if e.route == "chat" and e.status == 200]
    assert sorted(e.metadata["record_ids"] for e in chats) == sorted(r["id"] for r in done)
    for entry in chats:
        record = by_id[entry.metadata["record_ids"]]
        assert (entry.user, entry.trace_id) == (record["user"], "job-handbook")
        assert entry.metadata["source"] == record["source"]
