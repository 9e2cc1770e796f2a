"""Adapted SDK clients against a hostile gateway: identity never follows a redirect to another
origin, and the SDK's status errors carry no echo of the Igris key where the adapter can hook
them (docs/protocol.md, "Limits on the client")."""

from __future__ import annotations

import json
import socket
from typing import Any

import anthropic
import openai
import pytest

from igris_core import Igris
from igris_core.adapters.anthropic import with_igris as anthropic_with_igris
from igris_core.adapters.openai import with_igris as openai_with_igris
from tests.adapters.helpers import chat_answer, message_answer
from tests.igris_core.hostile_server import Request, Server, hostile_server, respond

KEY = "ig_live_" + "0123456789abcdef" * 3


def _adapted(kind: str, igris: Igris) -> Any:
    if kind == "openai":
        return openai_with_igris(
            openai.OpenAI(api_key="unused", max_retries=0), igris, "prod", user="alice"
        )
    return anthropic_with_igris(
        anthropic.Anthropic(api_key="unused", max_retries=0), igris, "prod", user="alice"
    )


def _call(kind: str, client: Any) -> Any:
    if kind == "openai":
        return client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    return client.messages.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_identity_never_follows_a_redirect_to_another_origin(kind: str) -> None:
    def elsewhere(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 200, chat_answer() if kind == "openai" else message_answer())

    with hostile_server(elsewhere) as other:

        def gateway(conn: socket.socket, request: Request, server: Server) -> None:
            respond(conn, 307, b"", Location=other.base_url + request.path)

        with hostile_server(gateway) as gw, Igris(KEY, base_url=gw.base_url) as igris:
            client = _adapted(kind, igris)
            with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as info:
                _call(kind, client)
            assert info.value.status_code == 307
            assert gw.requests[0].headers["x-igris-user"] == "alice"
    sent = [name for request in other.requests for name in request.headers]
    assert not [name for name in sent if name.startswith("x-igris-")]
    assert other.requests == []  # nor the prompt: the redirect is not followed at all


ECHO = "\\u0069\\u0067" + KEY[2:].replace("0", "\\u0030")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_sdk_status_errors_carry_no_echo_of_the_key(kind: str) -> None:
    def gateway(conn: socket.socket, request: Request, server: Server) -> None:
        body = f'{{"error": {{"message": "bad key {ECHO}", "type": "{KEY[:30]}"}}}}'
        respond(conn, 401, body.encode())

    with hostile_server(gateway) as gw, Igris(KEY, base_url=gw.base_url) as igris:
        client = _adapted(kind, igris)
        with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as info:
            _call(kind, client)
    err = info.value
    shown = "\n".join([str(err), repr(err), err.message, json.dumps(err.body)])
    pieces = {KEY[i : i + 12] for i in range(len(KEY) - 11)}
    assert [p for p in pieces if p in shown] == [], shown
    assert "***" in shown
