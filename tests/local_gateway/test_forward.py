"""The forward backend, tested by chaining two local gateways: the downstream one forwards to the
upstream one's ``/llm/<slug>/v1``."""

from __future__ import annotations

import json
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
