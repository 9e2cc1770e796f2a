"""The real ``anthropic`` SDK, adapted, against the local gateway over real HTTP: messages (plain
and streaming), sync and async, errors as the SDK's own types with the gateway's status, and the
identity of every call in the gateway's audit trail."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest

from igris_core import AsyncIgris, Igris, igris_context
from igris_core.adapters.anthropic import with_igris
from igris_core.local_gateway import Fault, LocalGateway

SLUG = "anthropic-prod"
MODEL = "claude-3-5-sonnet-20241022"
MESSAGES: Any = [{"role": "user", "content": "hello claude"}]


def who(entry: Any) -> tuple[str | None, str | None, dict[str, str]]:
    return entry.user, entry.trace_id, dict(entry.metadata)


def adapted(igris: Igris | AsyncIgris, *, async_: bool = False, **kwargs: Any) -> Any:
    retries = kwargs.pop("max_retries", 0)
    cls = anthropic.AsyncAnthropic if async_ else anthropic.Anthropic
    return with_igris(cls(api_key="unused", max_retries=retries), igris, SLUG, **kwargs)


def test_messages(gw: LocalGateway, gw_igris: Igris) -> None:
    client = adapted(gw_igris, user="svc", metadata={"team": "support"})
    answer = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert answer.content[0].text == "hello claude"
    [entry] = gw.audit
    assert (entry.route, entry.status, entry.connection, entry.model) == (
        "messages",
        200,
        SLUG,
        MODEL,
    )
    assert who(entry) == ("svc", "default-trace", {"suite": "adapters", "team": "support"})
    assert entry.usage is not None
    assert entry.usage["prompt_tokens"] == answer.usage.input_tokens
    assert entry.usage["completion_tokens"] == answer.usage.output_tokens


def test_streaming_messages(gw: LocalGateway, gw_igris: Igris) -> None:
    client = adapted(gw_igris, user="svc")
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "hello claude"
    assert final.usage.output_tokens > 0

    with igris_context(trace_id="raw-events"):
        events = list(
            client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
        )
    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"

    assert [(e.route, e.status, e.stream) for e in gw.audit] == [("messages", 200, True)] * 2
    assert [who(e)[:2] for e in gw.audit] == [("svc", "default-trace"), ("svc", "raw-events")]
    assert all(e.usage is not None and e.usage["total_tokens"] > 0 for e in gw.audit)


def test_a_scope_entered_after_adaptation_and_igris_with_options(
    gw: LocalGateway, gw_igris: Igris
) -> None:
    client = adapted(gw_igris.with_options(user="bob"), trace_id="adapter-trace")
    client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    with igris_context(user="alice@corp.com", metadata={"ticket": "981"}):
        client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
        with client.messages.stream(model=MODEL, max_tokens=16, messages=MESSAGES) as stream:
            stream.until_done()
        client.with_options(timeout=10).messages.create(
            model=MODEL, max_tokens=16, messages=MESSAGES
        )
    assert [who(e) for e in gw.audit] == [("bob", "adapter-trace", {"suite": "adapters"})] + [
        ("alice@corp.com", "adapter-trace", {"suite": "adapters", "ticket": "981"})
    ] * 3


def test_errors_are_the_sdks_own(gw: LocalGateway, gw_igris: Igris) -> None:
    gw.deny("no-mallory", user="mallory")
    client = adapted(gw_igris)
    with igris_context(user="mallory"):
        with pytest.raises(anthropic.PermissionDeniedError) as denied:
            client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
        with (
            pytest.raises(anthropic.PermissionDeniedError),
            client.messages.stream(model=MODEL, max_tokens=16, messages=MESSAGES) as stream,
        ):
            stream.until_done()
    assert denied.value.status_code == 403

    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=0))
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert limited.value.status_code == 429

    gw.inject_fault(SLUG, Fault(status=500, times=1))
    with pytest.raises(anthropic.InternalServerError) as failed:
        client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert failed.value.status_code == 500

    assert [(e.status, e.user) for e in gw.audit] == [
        (403, "mallory"),
        (403, "mallory"),
        (429, None),
        (500, None),
    ]
    assert all(e.trace_id == "default-trace" for e in gw.audit)


async def test_async_messages_and_stream(gw: LocalGateway, gw_aigris: AsyncIgris) -> None:
    client = adapted(gw_aigris, async_=True, user="svc")
    answer = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert answer.content[0].text == "hello claude"
    with igris_context(user="async-alice"):
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            text = "".join([t async for t in stream.text_stream])
    assert text == "hello claude"
    assert [(e.status, e.stream, e.user) for e in gw.audit] == [
        (200, False, "svc"),
        (200, True, "async-alice"),
    ]


async def test_async_concurrent_scopes_and_errors(gw: LocalGateway, gw_aigris: AsyncIgris) -> None:
    gw.deny("no-eve", user="eve")
    client = adapted(gw_aigris, async_=True)

    async def call(user: str) -> str:
        with igris_context(user=user):
            await asyncio.sleep(0)
            try:
                await client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
            except anthropic.PermissionDeniedError as err:
                return f"{user}:{err.status_code}"
            return f"{user}:200"

    users = [f"user-{i}" for i in range(6)] + ["eve"]
    results = await asyncio.gather(*(call(u) for u in users))
    assert sorted(results) == sorted([f"{u}:200" for u in users[:-1]] + ["eve:403"])
    assert sorted((e.user, e.status) for e in gw.audit) == sorted(
        [(u, 200) for u in users[:-1]] + [("eve", 403)]
    )
