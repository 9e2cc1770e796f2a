"""The one client layer both frameworks build on (``igris_core._pool``): models share the
``httpx`` pool (one for sync calls, one per event loop for async calls), never by their key,
and a forked child never uses its parent's pool."""

from __future__ import annotations

import asyncio
import os
import pickle
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from igris_core import protocol
from igris_core._pool import ModelClients, shared_pool_settings
from igris_core.local_gateway import GatewayConfig, LocalGateway
from langchain_igris import ChatIgris, IgrisEmbeddings
from llama_index_igris import IgrisEmbedding, IgrisLLM

ALICE = "ig_alice_secret_key_0001"
BOB = "ig_bob_secret_key_0002"
CHAT = "@openai-prod/gpt-4o"
EMBED = "@openai-prod/text-embedding-3-small"

Model = ChatIgris | IgrisEmbeddings | IgrisLLM | IgrisEmbedding


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """A gateway that knows two keys, so each call's audit entry names the key it carried."""
    with LocalGateway(GatewayConfig(keys={"alice": ALICE, "bob": BOB})) as gw:
        yield gw


@pytest.fixture
def gw(gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> LocalGateway:
    gateway.reset()
    monkeypatch.delenv(protocol.ENV_API_KEY, raising=False)
    monkeypatch.setenv(protocol.ENV_BASE_URL, gateway.base_url)
    return gateway


def clients(model: Model) -> ModelClients:
    return model._clients()


def sync_pool(model: Model) -> httpx.Client:
    return clients(model).sync()._transport.client


def async_pool(model: Model) -> httpx.AsyncClient:
    """The pool the model's async calls use on the running event loop."""
    return clients(model).async_()._transport.client


def call(model: Model) -> None:
    if isinstance(model, ChatIgris):
        model.invoke("hello")
    elif isinstance(model, IgrisEmbeddings):
        model.embed_query("hello")
    elif isinstance(model, IgrisLLM):
        model.complete("hello")
    else:
        model.get_text_embedding("hello")


async def acall(model: Model) -> None:
    if isinstance(model, ChatIgris):
        await model.ainvoke("hello")
    elif isinstance(model, IgrisEmbeddings):
        await model.aembed_query("hello")
    elif isinstance(model, IgrisLLM):
        await model.acomplete("hello")
    else:
        await model.aget_text_embedding("hello")


def four_models() -> list[Model]:
    """One model of each kind, each with its own key, identity, timeout and retries."""
    return [
        ChatIgris(model=CHAT, api_key=ALICE, igris_user="ann", timeout=7, max_retries=0),
        IgrisEmbeddings(model=EMBED, api_key=BOB, igris_user="bo", timeout=9),
        IgrisLLM(model=CHAT, api_key=BOB, igris_user="cy", timeout=11, max_retries=1),
        IgrisEmbedding(model=EMBED, api_key=ALICE, igris_trace_id="t-1", default_headers={}),
    ]


def test_models_with_different_keys_identities_and_timeouts_share_one_sync_pool(
    gw: LocalGateway,
) -> None:
    models = four_models()
    for model in models:
        call(model)
    assert len({id(sync_pool(model)) for model in models}) == 1
    assert [(e.key_id, e.user) for e in gw.audit] == [
        ("alice", "ann"),
        ("bob", "bo"),
        ("bob", "cy"),
        ("alice", None),
    ]


def test_models_share_one_async_pool_per_event_loop(gw: LocalGateway) -> None:
    models = four_models()

    async def run() -> set[int]:
        await asyncio.gather(*(acall(model) for model in models))
        return {id(async_pool(model)) for model in models}

    first, second = asyncio.run(run()), asyncio.run(run())
    assert len(first) == 1 and len(second) == 1
    assert len(gw.audit) == 8 and all(entry.status == 200 for entry in gw.audit)


def test_building_a_model_opens_no_pool(gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    call(ChatIgris(model=CHAT, api_key=ALICE))  # the shared pool exists now
    opened: list[object] = []
    original = httpx.Client.__init__

    def counting(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", counting)
    for user in ("a", "b", "c"):  # a model per request, as web apps build them
        call(ChatIgris(model=CHAT, api_key=BOB, igris_user=user))
        call(IgrisLLM(model=CHAT, api_key=ALICE, igris_user=user))
    assert opened == []


def test_two_threads_with_their_own_event_loops_keep_a_pool_each(gw: LocalGateway) -> None:
    """Each thread's loop keeps its pool while the other thread's loop uses the same model:
    the pools are not replaced back and forth."""
    model = ChatIgris(model=CHAT, api_key=ALICE)
    both_in = threading.Barrier(2, timeout=30)
    pools: dict[str, list[httpx.AsyncClient]] = {}
    errors: list[BaseException] = []

    async def work(name: str) -> None:
        seen = pools.setdefault(name, [])
        seen.append(async_pool(model))
        both_in.wait()  # the other thread's loop has taken its pool too
        await asyncio.gather(*(acall(model) for _ in range(5)))
        seen.append(async_pool(model))
        await asyncio.gather(*(acall(model) for _ in range(5)))
        seen.append(async_pool(model))

    def thread(name: str) -> None:
        try:
            asyncio.run(work(name))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(set(map(id, pools["a"]))) == 1 and len(set(map(id, pools["b"]))) == 1
    assert pools["a"][0] is not pools["b"][0]
    assert len(gw.audit) == 20 and all(entry.status == 200 for entry in gw.audit)


def test_closing_a_framework_core_client_does_not_break_another_model(gw: LocalGateway) -> None:
    first = ChatIgris(model=CHAT, api_key=ALICE)
    second = IgrisLLM(model=CHAT, api_key=BOB)
    call(first)
    clients(first).sync().close()
    call(second)
    call(first)

    async def run() -> None:
        await acall(first)
        await clients(first).async_().aclose()
        await acall(second)
        await acall(first)

    asyncio.run(run())
    assert [e.status for e in gw.audit] == [200] * 6


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_opens_its_own_pools_and_leaves_the_parents_open(
    gw: LocalGateway,
) -> None:
    model = ChatIgris(model=CHAT, api_key=ALICE, igris_user="parent")
    call(model)
    parent_pool = sync_pool(model)

    async def parent_async() -> httpx.AsyncClient:
        await acall(model)
        return async_pool(model)

    asyncio.run(parent_async())
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        outcome = "ok"
        try:
            model.igris_user = "child"
            call(model)
            if sync_pool(model) is parent_pool:
                outcome = "the child used its parent's sync pool"
            call(ChatIgris(model=CHAT, api_key=BOB))
            asyncio.run(acall(model))
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    assert status == 0 and outcome == "ok"
    call(model)  # the parent's pool still works: the child closed none of its sockets
    assert sync_pool(model) is parent_pool and not parent_pool.is_closed
    assert [(e.key_id, e.user) for e in gw.audit] == [
        ("alice", "parent"),
        ("alice", "parent"),
        ("alice", "child"),
        ("bob", None),
        ("alice", "child"),
        ("alice", "parent"),
    ]


def test_no_key_in_the_shared_registry_the_clients_repr_or_their_pickle(
    gw: LocalGateway,
) -> None:
    for model in four_models():
        call(model)
        held = clients(model)
        assert ALICE not in repr(held) and BOB not in repr(held)
        assert ALICE not in repr(held.settings) and BOB not in repr(held.settings)
        assert ALICE.encode() not in pickle.dumps(held) and BOB.encode() not in pickle.dumps(held)
    keys = repr(shared_pool_settings())
    assert ALICE not in keys and BOB not in keys


def test_models_without_a_key_read_the_variable_at_first_use(
    gw: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpickled models in processes with different environments each use their own key."""
    monkeypatch.setenv(protocol.ENV_API_KEY, ALICE)
    chat = pickle.loads(pickle.dumps(ChatIgris(model=CHAT, igris_user="u1")))
    pickled_llm = pickle.dumps(IgrisLLM(model=CHAT, igris_user="u2"))
    call(chat)
    monkeypatch.setenv(protocol.ENV_API_KEY, BOB)
    call(pickle.loads(pickled_llm))  # LlamaIndex unpickles through __init__: the key is read then
    other = pickle.loads(pickle.dumps(chat))
    call(other)
    assert [(e.key_id, e.user) for e in gw.audit] == [
        ("alice", "u1"),
        ("bob", "u2"),
        ("bob", "u1"),
    ]
