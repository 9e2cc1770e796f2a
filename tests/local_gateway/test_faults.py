"""Fault injection: injected statuses, latency, broken streams, malformed JSON."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import Fault, LocalGateway
from tests.local_gateway.helpers import (
    CHAT,
    EMBEDDINGS,
    MESSAGES,
    chat_body,
    sse_chunks,
    sse_named_events,
    sse_payloads,
    stream_chat,
)


def statuses(
    client: httpx.Client, count: int, path: str = CHAT, body: dict | None = None
) -> list[int]:
    return [client.post(path, json=body or chat_body()).status_code for _ in range(count)]


def test_status_for_the_first_n_calls(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(status=503, times=2))
    first = client.post(CHAT, json=chat_body())
    assert first.status_code == 503
    assert first.json()["error"] == {
        "message": "injected fault: HTTP 503",
        "type": "service_unavailable",
        "code": "fault_injected",
    }
    assert protocol.RETRY_AFTER_HEADER not in first.headers
    assert statuses(client, 3) == [503, 200, 200]
    assert [e.status for e in gw.audit] == [503, 503, 200, 200]
    assert gw.audit[0].error_type == "service_unavailable"


def test_status_on_every_call_when_times_is_none(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(status=500))
    assert statuses(client, 3) == [500, 500, 500]


@pytest.mark.parametrize(
    ("retry_after", "header"), [(0, "0"), (0.25, "0.25"), (2, "2"), (3.0, "3")]
)
def test_retry_after_is_written_as_given(
    gw: LocalGateway, client: httpx.Client, retry_after: float, header: str
) -> None:
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=retry_after))
    response = client.post(CHAT, json=chat_body())
    assert response.status_code == 429
    assert response.headers[protocol.RETRY_AFTER_HEADER] == header


def test_seeded_probability_is_reproducible(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(status=502, probability=0.5, seed=7))
    first = statuses(client, 20)
    assert set(first) == {200, 502}
    gw.reset()
    gw.inject_fault("openai-prod", Fault(status=502, probability=0.5, seed=7))
    assert statuses(client, 20) == first
    gw.reset()
    gw.inject_fault("openai-prod", Fault(status=502, probability=0.5, seed=8))
    assert statuses(client, 20) != first


def test_probability_with_times_caps_the_failures(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(status=500, probability=1.0, times=3))
    assert statuses(client, 5) == [500, 500, 500, 200, 200]


def test_latency_delays_the_answer(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(latency=0.15, times=1))
    started = time.perf_counter()
    assert client.post(CHAT, json=chat_body()).status_code == 200
    assert time.perf_counter() - started >= 0.15
    assert gw.audit[-1].duration_ms >= 150


def test_faults_apply_in_injection_order_and_per_connection(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.inject_fault("openai-prod", Fault(status=503, times=1))
    gw.inject_fault("openai-prod", Fault(status=500, times=1))
    assert statuses(client, 3) == [503, 500, 200]
    google = protocol.chat_completions_path("google-prod")
    gw.inject_fault("google-prod", Fault(status=504, times=1))
    assert statuses(client, 1) == [200]
    assert statuses(client, 1, google) == [504]


def test_routes_limit_where_a_fault_applies(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(status=500, routes=("embeddings",)))
    assert statuses(client, 1) == [200]
    assert statuses(client, 1, EMBEDDINGS, {"model": "m", "input": "x"}) == [500]
    gw.inject_fault("anthropic-prod", Fault(status=529, times=1, routes=("messages",)))
    body = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    response = client.post(MESSAGES, json=body)
    assert response.status_code == 529
    assert response.json()["error"]["type"] == "server_error"


def test_cut_after_drops_the_connection(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(cut_after=2, times=1))
    received: list[bytes] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", CHAT, json=chat_body("one two three four", stream=True)) as response,
    ):
        assert response.status_code == 200
        for part in response.iter_bytes():
            received.append(part)
    payloads = sse_payloads(b"".join(received).decode())
    assert len(payloads) == 2 and protocol.SSE_DONE not in payloads
    entry = gw.audit[-1]
    assert (entry.status, entry.error_type, entry.stream) == (200, "stream_aborted", True)
    assert stream_chat(client, chat_body()).status_code == 200  # next call streams normally


def test_stream_only_faults_leave_non_streaming_calls_alone(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.inject_fault("openai-prod", Fault(cut_after=0, times=1))
    assert client.post(CHAT, json=chat_body()).status_code == 200  # not counted
    with pytest.raises(httpx.RemoteProtocolError):
        stream_chat(client, chat_body())


def test_end_after_ends_cleanly_without_done(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(end_after=3, times=1))
    response = stream_chat(client, chat_body("a b c d e f"))
    payloads = sse_payloads(response.text)
    assert len(payloads) == 3 and protocol.SSE_DONE not in payloads
    assert response.text.endswith("\n\n")


def test_error_event_mid_stream(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(error_event_after=2, status=503, times=1))
    response = stream_chat(client, chat_body("a b c d"))
    payloads = sse_payloads(response.text)
    assert len(payloads) == 3 and protocol.SSE_DONE not in payloads
    error = json.loads(payloads[-1])["error"]
    assert error["type"] == "service_unavailable"
    assert protocol.status_of_stream_error(error) == 503
    assert gw.audit[-1].error_type == "service_unavailable"


def test_error_event_on_a_messages_stream(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("anthropic-prod", Fault(error_event_after=1, times=1))
    body = {
        "model": "c",
        "max_tokens": 9,
        "stream": True,
        "messages": [{"role": "user", "content": "x y"}],
    }
    events = sse_named_events(client.post(MESSAGES, json=body).text)
    assert [name for name, _ in events] == ["message_start", "error"]
    assert events[1][1]["type"] == "error"
    assert events[1][1]["error"]["type"] == "server_error"


def test_malformed_json_body(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(malformed_json=True, times=1))
    response = client.post(CHAT, json=chat_body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert client.post(CHAT, json=chat_body()).json()["object"] == "chat.completion"


def test_malformed_json_first_stream_event(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(malformed_json=True, times=1))
    payloads = sse_payloads(stream_chat(client, chat_body("a b")).text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(payloads[0])
    assert [json.loads(p)["object"] for p in payloads[1:-1]] == ["chat.completion.chunk"] * 3
    assert payloads[-1] == protocol.SSE_DONE


def test_malformed_json_on_embeddings(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(malformed_json=True, routes=("embeddings",)))
    response = client.post(EMBEDDINGS, json={"model": "m", "input": "x"})
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_stream_faults_combine(gw: LocalGateway, client: httpx.Client) -> None:
    gw.inject_fault("openai-prod", Fault(latency=0.05, times=1))
    gw.inject_fault("openai-prod", Fault(stream_shape="null_content", end_after=2, times=1))
    chunks = sse_chunks(stream_chat(client, chat_body("a b c")).text)
    assert len(chunks) == 2
    assert chunks[0]["choices"][0]["delta"]["content"] is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 200},
        {"times": -1},
        {"probability": 1.5},
        {"latency": -1},
        {"cut_after": -2},
        {"stream_shape": "sideways"},
        {"routes": ("chat", "images")},
    ],
)
def test_invalid_faults_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Fault(**kwargs)  # type: ignore[arg-type]


def test_faults_on_unknown_connections_are_refused(gw: LocalGateway) -> None:
    with pytest.raises(ValueError, match="unknown connection"):
        gw.inject_fault("nope", Fault(status=500))
