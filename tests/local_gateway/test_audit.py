"""The audit trail: one entry per call under /llm, with identity, usage, status and timing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time

import httpx
import pytest

from igris_core import protocol
from igris_core._identity import Identity, identity_headers
from igris_core.local_gateway import AuditEntry, Fault, LocalGateway
from tests.local_gateway.helpers import CHAT, EMBEDDINGS, chat_body, stream_chat


def test_identity_headers_are_decoded_into_the_entry(
    gw: LocalGateway, client: httpx.Client
) -> None:
    identity = Identity(
        user="Zoë Ω <zoe@corp.com>",
        trace_id="run 42 / étape 1",
        metadata={"Team": "plateforme ☕", "env": "100% prod", "plain": "ascii"},
    )
    headers = identity_headers(identity)
    assert any("%" in v for v in headers.values())  # non-ASCII went out percent-encoded
    before = time.time()
    response = client.post(CHAT, json=chat_body("hi"), headers=headers)
    (entry,) = gw.audit
    assert entry.user == "Zoë Ω <zoe@corp.com>"
    assert entry.trace_id == "run 42 / étape 1"
    # header names reach the server lowercased; values are decoded
    assert entry.metadata == {"team": "plateforme ☕", "env": "100% prod", "plain": "ascii"}
    assert entry.request_id == response.headers[protocol.REQUEST_ID_HEADER]
    assert before - 1 <= entry.time <= time.time() + 1
    assert entry.duration_ms > 0
    assert (entry.method, entry.path, entry.route) == ("POST", CHAT, "chat")
    assert (entry.connection, entry.model, entry.status, entry.key_id) == (
        "openai-prod",
        "gpt-4o",
        200,
        "default",
    )
    assert entry.usage == {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}
    assert (entry.stream, entry.error_type, entry.rule) == (False, None, None)


def test_raw_utf8_header_values_are_read_as_utf8(gw: LocalGateway) -> None:
    raw_headers = [
        (b"authorization", f"Bearer {gw.api_key}".encode()),
        (protocol.USER_HEADER.encode(), "José".encode()),
    ]
    httpx.post(gw.base_url + CHAT, json=chat_body(), headers=raw_headers)
    assert gw.audit[-1].user == "José"


def test_body_user_is_recorded_when_no_header(gw: LocalGateway, client: httpx.Client) -> None:
    client.post(CHAT, json=chat_body(user="from-body"))
    client.post(
        CHAT, json=chat_body(user="from-body"), headers={protocol.USER_HEADER: "from-header"}
    )
    client.post(EMBEDDINGS, json={"model": "m", "input": "x", "user": "embedder"})
    assert [e.user for e in gw.audit] == ["from-body", "from-header", "embedder"]


@pytest.mark.parametrize(
    ("path", "connection"),
    [
        ("/llm/google-prod/v1/models/gemini-2.0-flash:generateContent", "google-prod"),
        # google-genai 2.x on Python 3.10 calls its v1beta API version.
        ("/llm/google-prod/v1beta/models/gemini-2.0-flash:generateContent", "google-prod"),
        ("/llm/google-prod/v2/anything", "google-prod"),
        ("/llm/nothing-after-the-slug", None),
    ],
)
def test_an_unknown_route_under_a_connection_is_audited_with_it(
    gw: LocalGateway, client: httpx.Client, path: str, connection: str | None
) -> None:
    assert client.post(path, json={}).status_code == 404
    entry = gw.audit[-1]
    assert (entry.path, entry.status, entry.connection) == (path, 404, connection)


def test_one_entry_per_attempt_whatever_the_outcome(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("blocked", pattern="blocked")
    gw.inject_fault("openai-prod", Fault(status=503, times=1))
    trace = {protocol.TRACE_ID_HEADER: "task-7"}
    client.post(CHAT, json=chat_body(), headers=trace)  # 503 injected
    client.post(CHAT, json=chat_body(), headers=trace)  # 200
    client.post(CHAT, json=chat_body("blocked"), headers=trace)  # 403
    httpx.post(gw.base_url + CHAT, json=chat_body(), headers=trace)  # 401
    client.post(CHAT, content=b"{", headers=trace)  # 400
    client.post(protocol.chat_completions_path("ghost"), json=chat_body(), headers=trace)  # 404
    client.get("/llm/openai-prod/v1/models", headers=trace)  # 404, unknown route
    client.get(protocol.PROVIDERS_PATH, headers=trace)  # 200
    client.get("/health")  # not under /llm: no entry
    entries = gw.audit
    assert [e.status for e in entries] == [503, 200, 403, 401, 400, 404, 404, 200]
    # an unauthenticated call keeps no identity (anyone can send one)
    assert [e.trace_id for e in entries if e.status != 401] == ["task-7"] * 7
    assert (entries[3].trace_id, gw.audit_stats.unauthenticated) == (None, 1)
    assert [e.route for e in entries] == ["chat"] * 6 + ["unknown", "providers"]
    assert [e.connection for e in entries] == ["openai-prod"] * 5 + ["ghost", "openai-prod", None]
    assert entries[2].rule == "blocked"
    assert entries[3].key_id is None
    assert len({e.request_id for e in entries}) == len(entries)


def test_stream_entries(gw: LocalGateway, client: httpx.Client) -> None:
    stream_chat(client, chat_body("one two", stream_options={"include_usage": True}))
    entry = gw.audit[-1]
    assert entry.stream is True
    assert entry.usage == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_audit_is_a_snapshot_of_frozen_entries(gw: LocalGateway, client: httpx.Client) -> None:
    client.post(CHAT, json=chat_body())
    snapshot = gw.audit
    snapshot.clear()
    assert len(gw.audit) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        gw.audit[0].status = 500  # type: ignore[misc]
    assert isinstance(gw.audit[0], AuditEntry)


def test_entries_are_in_arrival_order(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("google-prod", Fault(latency=0.6, times=1))
    slow_path = protocol.chat_completions_path("google-prod")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(client.post, slow_path, json=chat_body("slow"))
        time.sleep(0.2)  # the slow call has arrived and waits on its injected latency
        assert client.post(CHAT, json=chat_body("quick")).status_code == 200
        assert [e.connection for e in gw.audit] == ["openai-prod"]  # the slow one is in flight
        assert slow.result().status_code == 200
    assert [e.connection for e in gw.audit] == ["google-prod", "openai-prod"]


def test_a_call_running_across_a_reset_is_not_recorded_after_it() -> None:
    from igris_core.local_gateway._audit.trail import AuditLog

    log = AuditLog()
    before = log.ticket()  # a call arrives
    log.clear()  # the gateway is reset while it runs
    after = log.ticket()
    entry = AuditEntry(
        time=0.0,
        request_id="req_1",
        key_id="k",
        connection="openai-prod",
        model="gpt-4o",
        route="chat",
        method="POST",
        path=CHAT,
        status=200,
        user=None,
        trace_id=None,
    )
    log.append(entry, before)  # it finishes late
    log.append(entry, after)
    assert log.snapshot() == [entry]


async def _entries_when_the_stream_ends(path: str, body: dict[str, object]) -> int:
    """Serve one streamed call through the gateway's ASGI app and return how many audit entries
    existed when the stream's terminal event (``[DONE]``, ``message_stop`` or an error event)
    was handed to the server: clients stop reading there, so the entry must already exist."""
    import json as _json

    from igris_core.local_gateway._config.settings import GatewayConfig
    from igris_core.local_gateway._server.app import create_app
    from igris_core.local_gateway._server.state import GatewayState

    state = GatewayState(GatewayConfig(keys={"k": "ig_local_terminal_event_key"}))
    app = create_app(state)
    raw = _json.dumps(body).encode()
    sent: list[bytes] = []
    at_terminal: list[int] = []

    requests = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, object]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            assert isinstance(chunk, bytes)
            if b"[DONE]" in chunk or b"message_stop" in chunk or b"error" in chunk:
                at_terminal.append(len(state.audit.snapshot()))
            sent.append(chunk)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"authorization", b"Bearer ig_local_terminal_event_key"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert at_terminal, b"".join(sent)
    return at_terminal[0]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {**chat_body("hi"), "stream": True}),
        (
            protocol.messages_path("anthropic-prod"),
            {
                "model": "claude-3-5-sonnet",
                "max_tokens": 50,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
    ],
    ids=["chat", "messages"],
)
async def test_a_stream_is_audited_before_its_terminal_event_is_sent(
    path: str, body: dict[str, object]
) -> None:
    # A client closes the stream at its terminal event and may read the audit trail at once.
    assert await _entries_when_the_stream_ends(path, body) == 1
