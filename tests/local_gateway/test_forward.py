"""The forward backend, tested by chaining two local gateways: the downstream one forwards to the
upstream one's ``/llm/<slug>/v1``."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import (
    ConnectionConfig,
    Fault,
    GatewayConfig,
    LocalGateway,
    ScriptedReply,
)
from tests.igris_core.hostile_server import Request, Script, Server, hostile_server, sse_head
from tests.local_gateway.helpers import (
    accumulate,
    chat_body,
    sse_chunks,
    sse_named_events,
    sse_payloads,
    stream_chat,
)

KEY_ENV = "IGRIS_TEST_UPSTREAM_KEY"
FWD_CHAT = protocol.chat_completions_path("fwd")
FWD_EMBEDDINGS = protocol.embeddings_path("fwd")
FWD_MESSAGES = protocol.messages_path("fwd-claude")


@pytest.fixture(scope="module")
def downstream_session(igris_gateway_session: LocalGateway) -> Iterator[LocalGateway]:
    upstream = igris_gateway_session.base_url
    config = GatewayConfig(
        keys={"downstream": "ig_local_downstream"},
        connections=(
            ConnectionConfig(
                "fwd",
                backend="forward",
                upstream_base_url=upstream + protocol.connection_prefix("openai-prod"),
                upstream_api_key_env=KEY_ENV,
            ),
            ConnectionConfig(
                "fwd-claude",
                provider="anthropic",
                backend="forward",
                upstream_base_url=upstream + protocol.connection_prefix("anthropic-prod"),
                upstream_api_key_env=KEY_ENV,
            ),
        ),
    )
    with LocalGateway(config) as gateway:
        yield gateway


@pytest.fixture
def downstream(
    downstream_session: LocalGateway, gw: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    downstream_session.reset()
    monkeypatch.setenv(KEY_ENV, gw.api_key)
    headers = {"Authorization": f"Bearer {downstream_session.api_key}"}
    with httpx.Client(base_url=downstream_session.base_url, headers=headers, timeout=10) as client:
        yield client


def test_chat_is_forwarded_and_both_sides_audit_it(
    downstream: httpx.Client, downstream_session: LocalGateway, gw: LocalGateway
) -> None:
    response = downstream.post(
        FWD_CHAT,
        json=chat_body("forward me please", user="body-user"),
        headers={protocol.USER_HEADER: "alice", protocol.METADATA_HEADER_PREFIX + "team": "a"},
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "forward me please"
    assert response.headers[protocol.REQUEST_ID_HEADER] == downstream_session.audit[-1].request_id
    (upstream_entry,) = gw.audit
    assert upstream_entry.key_id == "default"  # the upstream key from the env var, as Bearer
    assert upstream_entry.user == "body-user"  # X-Igris-* stay downstream; the body is untouched
    assert upstream_entry.metadata == {}
    entry = downstream_session.audit[-1]
    assert (entry.connection, entry.user, entry.metadata) == ("fwd", "alice", {"team": "a"})
    assert (
        entry.usage
        == upstream_entry.usage
        == {
            "prompt_tokens": 6,
            "completion_tokens": 3,
            "total_tokens": 9,
        }
    )


def test_stream_is_passed_through_byte_for_byte(
    downstream: httpx.Client, downstream_session: LocalGateway, gw: LocalGateway
) -> None:
    gw.script(
        "openai-prod",
        ScriptedReply.text("fixed words here"),
        ScriptedReply.text("fixed words here"),
    )
    body = chat_body(stream_options={"include_usage": True})
    direct = httpx.post(
        gw.connection_url("openai-prod") + protocol.CHAT_COMPLETIONS_SUFFIX,
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {gw.api_key}"},
    )
    forwarded = stream_chat(downstream, body, FWD_CHAT)
    assert forwarded.headers["content-type"].startswith(protocol.SSE_CONTENT_TYPE)

    def without_ids(text: str) -> list[object]:
        chunks = sse_chunks(text)
        for chunk in chunks:
            chunk.pop("id"), chunk.pop("created")
        return chunks

    assert without_ids(forwarded.text) == without_ids(direct.text)
    assert sse_payloads(forwarded.text)[-1] == protocol.SSE_DONE
    usage = downstream_session.audit[-1].usage
    assert usage == {"prompt_tokens": 3 + 3, "completion_tokens": 3, "total_tokens": 9}


def test_stream_usage_is_counted_when_the_upstream_sends_none(
    downstream: httpx.Client, downstream_session: LocalGateway
) -> None:
    answer = accumulate(sse_chunks(stream_chat(downstream, chat_body("count me"), FWD_CHAT).text))
    assert answer["content"] == "count me"
    assert downstream_session.audit[-1].usage == {
        "prompt_tokens": 5,
        "completion_tokens": 2,
        "total_tokens": 7,
    }


def test_upstream_errors_keep_status_and_body(
    downstream: httpx.Client, downstream_session: LocalGateway, gw: LocalGateway
) -> None:
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=3))
    response = downstream.post(FWD_CHAT, json=chat_body())
    assert response.status_code == 429
    assert response.headers[protocol.RETRY_AFTER_HEADER] == "3"
    assert response.json()["error"]["code"] == "fault_injected"
    assert downstream_session.audit[-1].error_type == "rate_limit_error"
    gw.deny("upstream-policy", pattern="secret")
    denied = downstream.post(FWD_CHAT, json=chat_body("secret"))
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "upstream-policy")


def test_upstream_stream_cut_reaches_the_client(
    downstream: httpx.Client, gw: LocalGateway, downstream_session: LocalGateway
) -> None:
    gw.inject_fault("openai-prod", Fault(cut_after=1, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        stream_chat(downstream, chat_body("a b c"), FWD_CHAT)
    assert downstream_session.audit[-1].error_type == "stream_aborted"


def test_downstream_stream_faults_apply_to_forwarded_streams(
    downstream: httpx.Client, downstream_session: LocalGateway
) -> None:
    downstream_session.inject_fault(
        "fwd", Fault(stream_shape="empty_choices", end_after=3, times=1)
    )
    payloads = sse_payloads(stream_chat(downstream, chat_body("a b c d"), FWD_CHAT).text)
    assert len(payloads) == 3 and protocol.SSE_DONE not in payloads
    downstream_session.inject_fault("fwd", Fault(malformed_json=True, times=1))
    broken = downstream.post(FWD_CHAT, json=chat_body())
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    downstream_session.inject_fault("fwd", Fault(status=502, times=1))
    assert downstream.post(FWD_CHAT, json=chat_body()).status_code == 502


def test_embeddings_are_forwarded(
    downstream: httpx.Client, downstream_session: LocalGateway
) -> None:
    response = downstream.post(
        FWD_EMBEDDINGS, json={"model": "e", "input": ["a b", "c"], "dimensions": 8}
    )
    assert response.status_code == 200
    assert [len(d["embedding"]) for d in response.json()["data"]] == [8, 8]
    assert downstream_session.audit[-1].usage == {
        "prompt_tokens": 3,
        "completion_tokens": 0,
        "total_tokens": 3,
    }


def test_anthropic_messages_are_forwarded_with_x_api_key(
    downstream: httpx.Client, downstream_session: LocalGateway, gw: LocalGateway
) -> None:
    body = {
        "model": "claude",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi claude"}],
    }
    message = downstream.post(FWD_MESSAGES, json=body).json()
    assert message["content"] == [{"type": "text", "text": "hi claude"}]
    assert gw.audit[-1].key_id == "default"
    events = sse_named_events(downstream.post(FWD_MESSAGES, json={**body, "stream": True}).text)
    assert events[-1][0] == "message_stop"
    assert downstream_session.audit[-1].usage == {
        "prompt_tokens": 5,
        "completion_tokens": 2,
        "total_tokens": 7,
    }


def test_missing_upstream_key_is_a_500(
    downstream: httpx.Client, monkeypatch: pytest.MonkeyPatch, gw: LocalGateway
) -> None:
    monkeypatch.delenv(KEY_ENV)
    response = downstream.post(FWD_CHAT, json=chat_body())
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "upstream_key_missing"
    assert KEY_ENV in response.json()["error"]["message"]
    assert gw.audit == []  # nothing was sent


def test_unreachable_upstream_is_a_502(gw: LocalGateway) -> None:
    with LocalGateway() as probe:
        dead_url = probe.base_url  # a port that was free a moment ago
    config = GatewayConfig(
        connections=(ConnectionConfig("dead", backend="forward", upstream_base_url=dead_url),)
    )
    with LocalGateway(config) as lonely:
        response = httpx.post(
            lonely.base_url + protocol.chat_completions_path("dead"),
            json=chat_body(),
            headers={"Authorization": f"Bearer {lonely.api_key}"},
        )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"


# --- upstream streams read with the core SSE decoder ---------------------------------------------
_UPSTREAM_CHUNKS: list[dict[str, object]] = [
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "héllo"}, "finish_reason": None}
        ],
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": " wörld ✓"}, "finish_reason": "stop"}],
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    },
]
# CRLF line ends and a comment, as some upstreams write them.
_UPSTREAM_BODY = (
    b": keep-alive\r\n\r\n"
    + b"".join(
        b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\r\n\r\n"
        for chunk in _UPSTREAM_CHUNKS
    )
    + b"data: [DONE]\r\n\r\n"
)


def _awkward_pieces(body: bytes) -> list[bytes]:
    """``body`` cut inside every blank line's CRLF pairs, inside every multi-byte character and
    every 16 bytes besides."""
    cuts = set(range(16, len(body), 16))
    start = body.find(b"\r\n\r\n")
    while start >= 0:
        cuts |= {start + 1, start + 3}  # between CR and LF, twice
        start = body.find(b"\r\n\r\n", start + 1)
    cuts |= {i for i, byte in enumerate(body) if byte >= 0xC0 and 0 < i + 1 < len(body)} | {
        i + 1 for i, byte in enumerate(body) if byte >= 0xC0
    }
    edges = [0, *sorted(c for c in cuts if 0 < c < len(body)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def _send_in_pieces(pieces: list[bytes]) -> Script:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(sse_head())
        for piece in pieces:
            conn.sendall(piece)
            if server.stop.wait(0.002):  # lets each piece arrive on its own
                return

    return script


@contextlib.contextmanager
def _gateway_in_front_of(script: Script) -> Iterator[tuple[LocalGateway, httpx.Client]]:
    with hostile_server(script) as upstream:
        config = GatewayConfig(
            connections=(
                ConnectionConfig("raw", backend="forward", upstream_base_url=upstream.base_url),
            )
        )
        with (
            LocalGateway(config) as gateway,
            httpx.Client(
                base_url=gateway.base_url,
                headers={"Authorization": f"Bearer {gateway.api_key}"},
                timeout=30,
            ) as client,
        ):
            yield gateway, client


RAW_CHAT = protocol.chat_completions_path("raw")


def test_an_upstream_stream_cut_anywhere_with_crlf_is_relayed_intact() -> None:
    with _gateway_in_front_of(_send_in_pieces(_awkward_pieces(_UPSTREAM_BODY))) as (gw, client):
        response = stream_chat(client, chat_body(), RAW_CHAT)
    assert response.content == _UPSTREAM_BODY
    # The usage came from the terminal chunk, so every event was read whole.
    assert gw.audit[-1].usage == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def test_an_upstream_stream_replayed_under_a_fault_keeps_every_event_whole() -> None:
    with _gateway_in_front_of(_send_in_pieces(_awkward_pieces(_UPSTREAM_BODY))) as (gw, client):
        gw.inject_fault("raw", Fault(end_after=len(_UPSTREAM_CHUNKS), times=1))
        response = stream_chat(client, chat_body(), RAW_CHAT)
    assert sse_chunks(response.text) == _UPSTREAM_CHUNKS
    assert gw.audit[-1].usage == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def test_a_too_large_upstream_event_cuts_the_stream() -> None:
    start = b'data: {"choices": [{"delta": {"content": "'
    pieces = [start] + [b"a" * 65536] * (protocol.DEFAULT_MAX_EVENT_BYTES // 65536 + 2)
    with _gateway_in_front_of(_send_in_pieces(pieces)) as (gw, client):
        with pytest.raises(httpx.RemoteProtocolError):
            stream_chat(client, chat_body(), RAW_CHAT)
        assert gw.audit[-1].error_type == "stream_aborted"
