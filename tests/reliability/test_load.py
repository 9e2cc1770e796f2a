"""Load and leaks, light versions: 200 concurrent calls through one
``AsyncIgris`` and through one ``ChatIgris``, 300 streams through one ``AsyncIgris`` and one
``Igris`` with some broken off early. The heavy runs (1,000 calls, 5,000 streams) are
``python -m benchmarks.bench_load``; both use the functions of benchmarks/bench_load.py.

Figures are recorded as test properties (``--junitxml``) and printed with ``-s``; no wall-clock
time is asserted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.bench_load import (
    KEEPALIVE_LIMIT,
    POOL_LIMIT,
    client_connections,
    concurrent_async_igris,
    concurrent_chat_igris,
    leak_run,
    port_of,
)
from igris_core.local_gateway import GatewayConfig, LocalGateway

CONCURRENT = 200
STREAMS = 300
CHECKPOINT = 100
# Python-heap growth allowed per 100 streams after the first 100 (warm-up). A response, its
# buffers or a generator kept per stream is several KiB: 100 of them exceed this at once.
MAX_TRACED_GROWTH_MIB_PER_100 = 0.25

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def own_gateway() -> Iterator[LocalGateway]:
    """A gateway of this module's own: connections other tests left open to the session's
    gateway (idle keep-alive pools of shared clients) do not blur the counts here. Its audit
    trail is bounded (one concurrent batch), so the gateway's own record of each stream (it
    runs in this process) is not counted as the client's growth."""
    with LocalGateway(GatewayConfig(audit_max_entries=CONCURRENT)) as gateway:
        yield gateway


@pytest.fixture
def gw(own_gateway: LocalGateway) -> LocalGateway:
    own_gateway.reset()
    return own_gateway


def report(record_property: Any, figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        record_property(key, value)
    print(figures)


@pytest.mark.parametrize("client", ["AsyncIgris", "ChatIgris"])
def test_concurrent_calls_all_succeed_with_a_bounded_pool(
    gw: LocalGateway, client: str, record_property: Any, record_case: Any
) -> None:
    run = concurrent_async_igris if client == "AsyncIgris" else concurrent_chat_igris
    figures = asyncio.run(run(gw.base_url, gw.api_key, CONCURRENT))
    entries = gw.audit
    report(record_property, figures)
    record_case(f"load: {CONCURRENT} concurrent via {client}", len(entries))
    assert figures["ok"] == CONCURRENT, figures["errors"]
    assert len(entries) == CONCURRENT and {e.status for e in entries} == {200}
    assert 1 <= figures["peak_client_connections"] <= POOL_LIMIT
    if figures["peak_pool_connections"] is not None:
        assert 1 < figures["peak_pool_connections"] <= POOL_LIMIT
        # The client queues requests beyond the pool itself, so httpcore's own queue (whose
        # cost grows with the square of its length) stays within the pool's size...
        assert figures["peak_requests_in_flight"] <= POOL_LIMIT
    # ...while the calls really were concurrent: more in flight than the pool's limit.
    assert figures["peak_calls_in_flight"] > POOL_LIMIT
    assert client_connections(port_of(gw.base_url)) == 0  # the client closed its pool


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_streams_broken_off_early_leave_nothing_open(
    gw: LocalGateway, mode: str, record_property: Any, record_case: Any
) -> None:
    figures = leak_run(
        gw.base_url,
        gw.api_key,
        STREAMS,
        mode=mode,
        checkpoint=CHECKPOINT,
        trace=True,
        on_checkpoint=gw.reset,  # the gateway's audit trail lives in this process too
    )
    report(record_property, {k: v for k, v in figures.items() if k != "checkpoints"})
    for point in figures["checkpoints"]:
        print(point)
    record_case(f"leaks: {STREAMS} streams ({mode})", STREAMS)
    assert figures["full"] + figures["broken_off"] == STREAMS
    assert figures["broken_off"] == STREAMS // 5
    assert figures["wrong_answers"] == []
    # Between batches, at most the pool's idle keep-alive connections stay open: a stream
    # broken off early closes its connection instead of leaking it.
    assert all(p["connections"] <= KEEPALIVE_LIMIT for p in figures["checkpoints"])
    # Once the client is closed: no connection, no file descriptor left.
    assert figures["after_close"]["connections"] == 0
    assert figures["after_close"]["fds"] <= figures["before"]["fds"]
    growth = figures[f"traced_growth_mib_per_{CHECKPOINT}"]
    assert growth is not None and growth < MAX_TRACED_GROWTH_MIB_PER_100, figures["checkpoints"]


def _framework_async_call(name: str, gw: LocalGateway) -> Any:
    if name == "AsyncIgris":
        from igris_core import AsyncIgris

        client = AsyncIgris(gw.api_key, base_url=gw.base_url)
        msgs = [{"role": "user", "content": "hello"}]
        return lambda: client.chat.completions.create(model="@openai-prod/gpt-4o", messages=msgs)
    if name == "ChatIgris":
        from langchain_igris import ChatIgris

        llm = ChatIgris(model="@openai-prod/gpt-4o", base_url=gw.base_url, api_key=gw.api_key)
        return lambda: llm.ainvoke("hello")
    from llama_index.core.llms import ChatMessage

    from llama_index_igris import IgrisLLM

    model = IgrisLLM(model="@openai-prod/gpt-4o", base_url=gw.base_url, api_key=gw.api_key)
    return lambda: model.achat([ChatMessage(role="user", content="hello")])


@pytest.mark.parametrize("name", ["AsyncIgris", "ChatIgris", "IgrisLLM"])
def test_one_event_loop_after_another_leaves_no_connection_open(
    gw: LocalGateway, name: str
) -> None:
    """``asyncio.run(model.ainvoke(...))`` again and again (a sync app calling async code)."""
    import gc

    port = port_of(gw.base_url)
    call = _framework_async_call(name, gw)
    before = client_connections(port)
    for _ in range(10):
        asyncio.run(call())
    gc.collect()
    assert client_connections(port) - before <= 1  # at most the last loop's, if it is kept
