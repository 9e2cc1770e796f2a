"""The real ``openai`` SDK, adapted, against the local gateway over real HTTP: chat (plain and
streaming), embeddings, sync and async, errors as the SDK's own types with the gateway's status,
and the identity of every call in the gateway's audit trail."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from igris_core import AsyncIgris, Igris, igris_context
from igris_core.adapters.openai import with_igris
from igris_core.local_gateway import Fault, LocalGateway

SLUG = "openai-prod"
MESSAGES: Any = [{"role": "user", "content": "hello through the gateway"}]


def who(entry: Any) -> tuple[str | None, str | None, dict[str, str]]:
    return entry.user, entry.trace_id, dict(entry.metadata)


def adapted(igris: Igris | AsyncIgris, *, async_: bool = False, **kwargs: Any) -> Any:
    retries = kwargs.pop("max_retries", 0)
    cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    return with_igris(cls(api_key="unused", max_retries=retries), igris, SLUG, **kwargs)


def test_chat(gw: LocalGateway, gw_igris: Igris) -> None:
    client = adapted(gw_igris, user="svc", metadata={"team": "search"})
    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == "hello through the gateway"
    [entry] = gw.audit
    assert (entry.route, entry.status, entry.connection, entry.model) == (
        "chat",
        200,
        SLUG,
        "gpt-4o",
    )
    assert who(entry) == ("svc", "default-trace", {"suite": "adapters", "team": "search"})
    assert entry.usage == answer.usage.model_dump(
        include={"prompt_tokens", "completion_tokens", "total_tokens"}
    )


def test_streaming_chat(gw: LocalGateway, gw_igris: Igris) -> None:
    client = adapted(gw_igris, user="svc")
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello through the gateway"
    assert chunks[-1].usage is not None
    [entry] = gw.audit
    assert (entry.route, entry.status, entry.stream) == ("chat", 200, True)
    assert entry.usage is not None and entry.usage["total_tokens"] == chunks[-1].usage.total_tokens
    assert who(entry) == ("svc", "default-trace", {"suite": "adapters"})


def test_embeddings(gw: LocalGateway, gw_igris: Igris) -> None:
    client = adapted(gw_igris, trace_id="emb-trace")
    result = client.embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) > 0
    [entry] = gw.audit
    assert (entry.route, entry.status) == ("embeddings", 200)
    assert who(entry) == (None, "emb-trace", {"suite": "adapters"})


def test_a_scope_entered_after_adaptation_reaches_every_call(
    gw: LocalGateway, gw_igris: Igris
) -> None:
    client = adapted(gw_igris, user="svc", metadata={"team": "search"})
    with igris_context(user="alice@corp.com", trace_id="ticket-981", metadata={"team": "t2"}):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
        client.embeddings.create(model="text-embedding-3-small", input="x")
        client.with_options(timeout=10).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    scoped = ("alice@corp.com", "ticket-981", {"suite": "adapters", "team": "t2"})
    assert [who(e) for e in gw.audit] == [scoped] * 4 + [
        ("svc", "default-trace", {"suite": "adapters", "team": "search"})
    ]
    assert [e.status for e in gw.audit] == [200] * 5


def test_identity_of_igris_with_options(gw: LocalGateway, gw_igris: Igris) -> None:
    bob = gw_igris.with_options(user="bob", metadata={"team": "billing"})
    client = adapted(bob)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with igris_context(trace_id="scoped"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, extra_headers={"X-Igris-User": "per-call"}
    )
    assert [who(e) for e in gw.audit] == [
        ("bob", "default-trace", {"suite": "adapters", "team": "billing"}),
        ("bob", "scoped", {"suite": "adapters", "team": "billing"}),
        ("per-call", "default-trace", {"suite": "adapters", "team": "billing"}),
    ]


def test_a_deny_rule_is_a_permission_denied_error(gw: LocalGateway, gw_igris: Igris) -> None:
    gw.deny("no-mallory", user="mallory")
    client = adapted(gw_igris, user="svc")
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # svc is allowed
    with igris_context(user="mallory"):
        with pytest.raises(openai.PermissionDeniedError) as info:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    err = info.value
    assert err.status_code == 403
    assert err.response.headers.get("X-Igris-Request-Id")
    assert "no-mallory" in str(err.body)
    statuses = [(e.status, e.user, e.rule) for e in gw.audit]
    assert statuses == [
        (200, "svc", None),
        (403, "mallory", "no-mallory"),
        (403, "mallory", "no-mallory"),
    ]


def test_a_pattern_deny_rule(gw: LocalGateway, gw_igris: Igris) -> None:
    gw.deny("no-secrets", pattern=r"(?i)password")
    client = adapted(gw_igris, user="svc")
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "my password is x"}]
        )
    assert (gw.audit[-1].status, gw.audit[-1].user) == (403, "svc")


def test_a_429_is_a_rate_limit_error(gw: LocalGateway, gw_igris: Igris) -> None:
    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=0))
    client = adapted(gw_igris, user="svc")
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "0"
    [entry] = gw.audit
    assert (entry.status, entry.user) == (429, "svc")


def test_the_sdks_own_retries_carry_the_identity_on_every_attempt(
    gw: LocalGateway, gw_igris: Igris
) -> None:
    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=0))
    client = adapted(gw_igris, max_retries=2)
    with igris_context(user="alice", trace_id="retried"):
        answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content
    assert [(e.status, e.user, e.trace_id) for e in gw.audit] == [
        (429, "alice", "retried"),
        (200, "alice", "retried"),
    ]


def test_server_and_auth_errors(gw: LocalGateway, gw_igris: Igris) -> None:
    gw.inject_fault(SLUG, Fault(status=503, times=1))
    client = adapted(gw_igris)
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.status_code == 503

    with Igris("ig_wrong_key", base_url=gw.base_url) as wrong:
        client = adapted(wrong, user="intruder")
        with pytest.raises(openai.AuthenticationError) as auth:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert auth.value.status_code == 401
    assert "ig_wrong_key" not in str(auth.value)
    # counted, but kept without the identity it sent (anyone can send one)
    assert (gw.audit[-1].status, gw.audit[-1].user) == (401, None)


def test_an_unknown_connection_is_a_not_found_error(gw: LocalGateway, gw_igris: Igris) -> None:
    client = with_igris(openai.OpenAI(api_key="unused", max_retries=0), gw_igris, "nope")
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.status_code == 404


async def test_async_chat_stream_and_embeddings(gw: LocalGateway, gw_aigris: AsyncIgris) -> None:
    client = adapted(gw_aigris, async_=True, user="svc")
    answer = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == "hello through the gateway"
    with igris_context(trace_id="async-stream"):
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "hello through the gateway"
    await client.embeddings.create(model="text-embedding-3-small", input="x")

    assert [(e.route, e.status, e.stream) for e in gw.audit] == [
        ("chat", 200, False),
        ("chat", 200, True),
        ("embeddings", 200, False),
    ]
    assert [who(e)[:2] for e in gw.audit] == [
        ("svc", "default-trace"),
        ("svc", "async-stream"),
        ("svc", "default-trace"),
    ]


async def test_async_concurrent_scopes_each_reach_their_own_call(
    gw: LocalGateway, gw_aigris: AsyncIgris
) -> None:
    client = adapted(gw_aigris, async_=True)

    async def call(i: int) -> None:
        with igris_context(user=f"user-{i}", trace_id=f"trace-{i}"):
            await asyncio.sleep(0)
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    await asyncio.gather(*(call(i) for i in range(8)))
    assert sorted((e.user, e.trace_id) for e in gw.audit) == sorted(
        (f"user-{i}", f"trace-{i}") for i in range(8)
    )


async def test_async_errors(gw: LocalGateway, gw_aigris: AsyncIgris) -> None:
    gw.deny("no-eve", user="eve")
    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=0, routes=("embeddings",)))
    client = adapted(gw_aigris, async_=True, user="eve")
    with pytest.raises(openai.PermissionDeniedError) as denied:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert denied.value.status_code == 403
    client = adapted(gw_aigris, async_=True, user="svc")
    with pytest.raises(openai.RateLimitError) as limited:
        await client.embeddings.create(model="text-embedding-3-small", input="x")
    assert limited.value.status_code == 429
    assert [(e.status, e.user) for e in gw.audit] == [(403, "eve"), (429, "svc")]
