"""The Anthropic adapter against a mock transport (of the HTTP library the SDK runs on)."""

from __future__ import annotations

import anthropic
import pytest

from igris_core import Igris, IgrisInputError, IgrisInputTypeError, igris_context, protocol
from igris_core.adapters.anthropic import with_igris
from tests.adapters.helpers import (
    ANTHROPIC_SECRET,
    GATEWAY,
    IGRIS_KEY,
    Recorder,
    anthropic_client,
    message,
)


def _credential(request: object) -> str:
    headers = request.headers  # type: ignore[attr-defined]
    if protocol.API_KEY_HEADER in headers:
        return str(headers[protocol.API_KEY_HEADER])
    return str(headers[protocol.AUTHORIZATION_HEADER]).removeprefix("Bearer ")


def test_routes_messages_with_the_igris_key(igris: Igris) -> None:
    rec = Recorder()
    client = anthropic_client(rec)
    assert with_igris(client, igris, "anthropic-prod", user="alice") is client
    assert str(client.base_url) == f"{GATEWAY}/llm/anthropic-prod/"

    answer = message(client)
    assert answer.content[0].text == "hi"
    assert str(rec.last.url) == f"{GATEWAY}{protocol.messages_path('anthropic-prod')}"
    assert _credential(rec.last) == IGRIS_KEY
    assert rec.identity() == {"x-igris-user": "alice"}
    assert not any(ANTHROPIC_SECRET in value for value in dict(rec.last.headers).values())


def test_an_auth_token_and_credential_headers_are_dropped(igris: Igris) -> None:
    rec = Recorder()
    client = anthropic_client(
        rec, auth_token="oauth-secret", default_headers={"Authorization": "Bearer oauth-secret"}
    )
    with_igris(client, igris, "anthropic-prod")
    message(client)
    assert client.auth_token is None
    assert _credential(rec.last) == IGRIS_KEY
    assert not any("oauth-secret" in value for value in dict(rec.last.headers).values())


def test_scope_and_call_headers(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(
        anthropic_client(rec), igris, "anthropic-prod", user="svc", metadata={"team": "a"}
    )
    with igris_context(user="scope-user", trace_id="t-1"):
        message(client)
        assert rec.identity() == {
            "x-igris-user": "scope-user",
            "x-igris-trace-id": "t-1",
            "x-igris-metadata-team": "a",
        }
        message(client, extra_headers={"X-Igris-Trace-Id": "call-trace"})
        assert rec.identity()["x-igris-trace-id"] == "call-trace"
    derived = client.with_options(max_retries=0)
    with igris_context(user="derived-scope"):
        message(derived)
    assert rec.identity()["x-igris-user"] == "derived-scope"
    assert _credential(rec.last) == IGRIS_KEY


def test_readapting_and_checks(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(anthropic_client(rec), igris, "anthropic-prod")
    hook = vars(client)["_prepare_request"]
    with_igris(client, igris, "claude-eu", trace_id="eu")
    assert vars(client)["_prepare_request"] is hook
    message(client)
    assert rec.last.url.path == "/llm/claude-eu/v1/messages"
    assert rec.identity() == {"x-igris-trace-id": "eu"}

    with pytest.raises(IgrisInputError, match="'no/slash'"):
        with_igris(client, igris, "no/slash")
    with pytest.raises(IgrisInputTypeError, match=r"anthropic\.Anthropic"):
        with_igris(object(), igris, "anthropic-prod")  # type: ignore[type-var]


async def test_async_messages_and_stream(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(anthropic_client(rec, async_=True), igris, "anthropic-prod")
    assert isinstance(client, anthropic.AsyncAnthropic)
    with igris_context(user="async-user"):
        await message(client)
    assert rec.identity() == {"x-igris-user": "async-user"}
    assert _credential(rec.last) == IGRIS_KEY
