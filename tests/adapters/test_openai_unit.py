"""The OpenAI adapter against a mock transport: routing, credentials, identity precedence,
re-adaptation, derived clients and argument checks."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import openai
import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisInputError,
    IgrisInputTypeError,
    igris_context,
    protocol,
)
from igris_core.adapters.openai import with_igris
from tests.adapters.helpers import (
    GATEWAY,
    IGRIS_KEY,
    OPENAI_SECRET,
    Recorder,
    chat,
    openai_client,
)

ROUTE = f"{GATEWAY}/llm/openai-prod/v1"


def test_returns_the_same_client_routed_with_the_igris_key(igris: Igris) -> None:
    rec = Recorder()
    client = openai_client(rec)
    adapted = with_igris(client, igris, "openai-prod")
    assert adapted is client
    assert str(client.base_url) == ROUTE + "/"
    assert client.api_key == IGRIS_KEY

    answer = chat(client)
    assert answer.choices[0].message.content == "hi"
    assert str(rec.last.url) == ROUTE + protocol.CHAT_COMPLETIONS_SUFFIX
    assert rec.last.headers["authorization"] == f"Bearer {IGRIS_KEY}"
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert str(rec.last.url) == ROUTE + protocol.EMBEDDINGS_SUFFIX


def test_no_identity_means_no_identity_headers(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod")
    chat(client)
    assert rec.identity() == {}


def test_other_credentials_are_dropped_and_the_callers_headers_untouched(igris: Igris) -> None:
    rec = Recorder()
    headers = {
        "Authorization": f"Bearer {OPENAI_SECRET}",
        "x-api-key": OPENAI_SECRET,
        "X-Igris-User": "stale-static-user",
        "X-Custom": "kept",
    }
    client = openai_client(
        rec,
        api_key=lambda: OPENAI_SECRET,
        websocket_base_url="wss://api.openai.com/v1",
        default_headers=headers,
    )
    with_igris(client, igris, "openai-prod")
    chat(client)

    sent = dict(rec.last.headers)
    assert sent["authorization"] == f"Bearer {IGRIS_KEY}"
    assert "x-api-key" not in sent
    assert "x-igris-user" not in sent  # a static X-Igris-* header would shadow scopes
    assert sent["x-custom"] == "kept"
    assert not any(OPENAI_SECRET in value for value in sent.values())
    assert client.websocket_base_url is None
    assert headers["X-Igris-User"] == "stale-static-user"  # the caller's mapping is not mutated


@pytest.mark.skipif(
    "admin_api_key" not in inspect.signature(openai.OpenAI).parameters,
    reason=f"openai {openai.__version__} has no admin key to drop",
)
def test_an_admin_key_is_dropped(igris: Igris) -> None:
    rec = Recorder()
    client = openai_client(rec, admin_api_key="sk-admin-secret")
    with_igris(client, igris, "openai-prod")
    chat(client)

    assert not any("sk-admin" in value for value in rec.last.headers.values())
    assert client.admin_api_key is None


def test_precedence_call_headers_then_scope_then_adapter_then_igris_defaults() -> None:
    rec = Recorder()
    igris = Igris(
        IGRIS_KEY,
        base_url=GATEWAY,
        user="default-user",
        trace_id="default-trace",
        metadata={"team": "default", "env": "default", "region": "eu"},
    )
    client = with_igris(
        openai_client(rec),
        igris,
        "openai-prod",
        user="adapter-user",
        metadata={"team": "adapter", "env": "adapter"},
    )

    chat(client)
    assert rec.identity() == {
        "x-igris-user": "adapter-user",
        "x-igris-trace-id": "default-trace",
        "x-igris-metadata-team": "adapter",
        "x-igris-metadata-env": "adapter",
        "x-igris-metadata-region": "eu",
    }

    with igris_context(user="scope-user", metadata={"env": "scope"}):
        chat(client)
        assert rec.identity() == {
            "x-igris-user": "scope-user",
            "x-igris-trace-id": "default-trace",
            "x-igris-metadata-team": "adapter",
            "x-igris-metadata-env": "scope",
            "x-igris-metadata-region": "eu",
        }
        chat(
            client,
            extra_headers={"X-Igris-User": "call-user", "x-igris-metadata-ENV": "call"},
        )
        assert rec.identity() == {
            "x-igris-user": "call-user",
            "x-igris-trace-id": "default-trace",
            "x-igris-metadata-team": "adapter",
            "x-igris-metadata-env": "call",
            "x-igris-metadata-region": "eu",
        }
    chat(client)  # the scope is over
    assert rec.identity()["x-igris-user"] == "adapter-user"


def test_igris_with_options_identity_sits_below_the_adapter_arguments(igris: Igris) -> None:
    rec = Recorder()
    alice = igris.with_options(user="alice", trace_id="opts-trace")
    client = with_igris(openai_client(rec), alice, "openai-prod", trace_id="adapter-trace")
    chat(client)
    assert rec.identity() == {"x-igris-user": "alice", "x-igris-trace-id": "adapter-trace"}


def test_body_user_is_sent_when_nothing_else_sets_a_user(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod")
    chat(client, user="body-user")
    assert rec.identity() == {"x-igris-user": "body-user"}
    with igris_context(user="scope-user"):
        chat(client, user="body-user")
    assert rec.identity() == {"x-igris-user": "scope-user"}


def test_identity_values_are_encoded(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod", user="zoë@corp.com")
    chat(client)
    assert rec.identity()["x-igris-user"] == "zo%C3%AB@corp.com"


def test_readapting_replaces_the_route_without_stacking_hooks(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod", user="first")
    hook = vars(client)["_prepare_request"]
    with_igris(client, igris, "openai-backup", user="second")
    assert vars(client)["_prepare_request"] is hook
    chat(client)
    assert rec.last.url.path == "/llm/openai-backup/v1/chat/completions"
    assert rec.identity() == {"x-igris-user": "second"}
    assert len(rec.requests) == 1


def test_an_instance_level_hook_of_another_library_still_runs(igris: Igris) -> None:
    rec = Recorder()
    client = openai_client(rec)
    seen: list[str] = []
    client._prepare_request = lambda request: seen.append(str(request.url))
    with_igris(client, igris, "openai-prod", user="alice")
    with_igris(client, igris, "openai-prod", user="bob")
    chat(client)
    assert seen == [ROUTE + "/chat/completions"]
    assert rec.identity() == {"x-igris-user": "bob"}


def test_derived_clients_stay_routed(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod", user="adapter-user")
    derived = client.with_options(timeout=5, max_retries=0)
    assert type(derived) is openai.OpenAI
    assert str(derived.base_url) == ROUTE + "/"
    with igris_context(user="scope-user"):
        chat(derived)
    assert rec.identity() == {"x-igris-user": "scope-user"}
    assert rec.last.headers["authorization"] == f"Bearer {IGRIS_KEY}"

    pinned = client.copy(default_headers={"X-Igris-User": "pinned"})
    with igris_context(user="scope-user"):
        chat(pinned)
    assert rec.identity() == {"x-igris-user": "pinned"}
    # re-adapting the original does not move the derived client
    with_igris(client, igris, "openai-backup")
    chat(derived)
    assert rec.last.url.path.startswith("/llm/openai-prod/")


def test_a_shared_httpx_client_does_not_leak_identity_to_other_clients(igris: Igris) -> None:
    rec = Recorder()
    shared = httpx.Client(transport=httpx.MockTransport(rec))
    routed = openai.OpenAI(api_key="unused", http_client=shared, max_retries=0)
    direct = openai.OpenAI(
        api_key=OPENAI_SECRET,
        base_url="https://api.openai.test/v1",
        http_client=shared,
        max_retries=0,
    )
    with_igris(routed, igris, "openai-prod", user="alice")
    chat(direct)
    assert rec.identity() == {}
    assert rec.last.headers["authorization"] == f"Bearer {OPENAI_SECRET}"
    chat(routed)
    assert rec.identity() == {"x-igris-user": "alice"}


def test_requests_outside_the_route_get_no_identity(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod", user="alice")
    client.get("https://elsewhere.test/ping", cast_to=object)
    assert rec.identity() == {}


def test_a_request_time_identity_error_is_raised_as_is_and_never_retried(igris: Igris) -> None:
    rec = Recorder()
    many = {f"k{i}": "v" for i in range(protocol.METADATA_MAX_ENTRIES)}
    client = with_igris(openai_client(rec, max_retries=2), igris, "openai-prod", metadata=many)
    with (
        igris_context(metadata={"one-more": "v"}),
        pytest.raises(IgrisInputError, match="after merging"),
    ):
        chat(client)
    assert rec.requests == []


@pytest.mark.parametrize(
    ("kwargs", "slug", "needle"),
    [
        ({}, "bad slug", "'bad slug'"),
        ({}, "@openai-prod/gpt-4o", "'@openai-prod/gpt-4o'"),
        ({"user": "alice\r\nX-Evil: 1"}, "openai-prod", "invalid user"),
        ({"trace_id": ""}, "openai-prod", "invalid trace_id"),
        ({"metadata": {"bad key": "v"}}, "openai-prod", "'bad key'"),
        ({"metadata": {"team": 3}}, "openai-prod", "invalid metadata value 3"),
    ],
)
def test_bad_arguments_are_refused_before_the_client_is_touched(
    igris: Igris, kwargs: dict[str, object], slug: str, needle: str
) -> None:
    client = openai_client(Recorder())
    before = str(client.base_url)
    with pytest.raises(IgrisInputError) as info:
        with_igris(client, igris, slug, **kwargs)  # type: ignore[arg-type]
    assert needle in str(info.value)
    assert str(client.base_url) == before
    assert client.api_key == OPENAI_SECRET
    assert "_prepare_request" not in vars(client)
    assert IGRIS_KEY not in str(info.value)


def test_wrong_client_or_igris_types_are_refused(igris: Igris) -> None:
    with pytest.raises(IgrisInputTypeError, match="'dict'"):
        with_igris({}, igris, "openai-prod")  # type: ignore[type-var]
    with pytest.raises(IgrisInputTypeError, match=r"igris_core\.Igris"):
        with_igris(openai_client(Recorder()), "ig_key", "openai-prod")  # type: ignore[arg-type]
    azure = openai.AzureOpenAI(
        api_key="x", api_version="2024-06-01", azure_endpoint="https://x.openai.azure.com"
    )
    with pytest.raises(IgrisInputTypeError, match="AzureOpenAI"):
        with_igris(azure, igris, "openai-prod")


def test_the_key_is_not_in_reprs(igris: Igris) -> None:
    client = with_igris(openai_client(Recorder()), igris, "openai-prod", user="alice")
    state = vars(client)["_igris_adapter_state"]
    assert IGRIS_KEY not in repr(state.route)
    assert "openai-prod" in repr(state.route)


async def test_async_client_with_scopes_per_task() -> None:
    rec = Recorder()
    async with AsyncIgris(IGRIS_KEY, base_url=GATEWAY, trace_id="default-trace") as igris:
        client = with_igris(openai_client(rec, async_=True), igris, "openai-prod", user="svc")
        assert isinstance(client, openai.AsyncOpenAI)

        async def call(user: str) -> None:
            with igris_context(user=user):
                await asyncio.sleep(0)
                await chat(client, extra_body={"tag": user})

        await asyncio.gather(*(call(f"user-{i}") for i in range(5)))
        await chat(client)

    sent = {r.headers.get("x-igris-user") for r in rec.requests[:5]}
    assert sent == {f"user-{i}" for i in range(5)}
    for request in rec.requests[:5]:
        assert request.headers["x-igris-user"].encode() in request.content  # its own scope
    assert rec.identity() == {"x-igris-user": "svc", "x-igris-trace-id": "default-trace"}
    assert rec.last.headers["authorization"] == f"Bearer {IGRIS_KEY}"


async def test_async_derived_client_and_sync_igris(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec, async_=True), igris, "openai-prod")
    derived = client.with_options(timeout=3)
    with igris_context(trace_id="t-async"):
        await derived.embeddings.create(model="text-embedding-3-small", input="x")
    assert rec.identity() == {"x-igris-trace-id": "t-async"}
    assert str(rec.last.url) == ROUTE + protocol.EMBEDDINGS_SUFFIX
