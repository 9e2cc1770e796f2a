"""Bad requests get the protocol's error body and a request id, and the gateway keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import GatewayConfig, LocalGateway
from igris_core.local_gateway._server import handlers as handlers_module
from tests.local_gateway.helpers import CHAT, chat_body


def assert_protocol_error(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers[protocol.REQUEST_ID_HEADER].startswith("req_")
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    assert error["type"] == type_ == protocol.ERROR_TYPE_BY_STATUS.get(status, type_)
    assert isinstance(error["message"], str) and error["message"]
    return error


def still_serving(client: httpx.Client) -> None:
    assert client.post(CHAT, json=chat_body("still here")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"x-api-key": "nope"}, {"Authorization": "Basic abc"}],
)
def test_missing_or_unknown_key_is_401(gw: LocalGateway, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=gw.base_url, headers=headers) as anonymous:
        for response in (
            anonymous.post(CHAT, json=chat_body()),
            anonymous.get(protocol.PROVIDERS_PATH),
        ):
            assert_protocol_error(response, 401, "authentication_error")
    entry = gw.audit[-1]
    assert (
        entry.status == 401 and entry.key_id is None and entry.error_type == "authentication_error"
    )


@pytest.mark.parametrize("header", ["Authorization", protocol.API_KEY_HEADER])
def test_either_key_header_is_accepted(gw: LocalGateway, header: str) -> None:
    value = f"Bearer {gw.api_key}" if header == "Authorization" else gw.api_key
    response = httpx.post(gw.base_url + CHAT, json=chat_body(), headers={header: value})
    assert response.status_code == 200
    assert gw.audit[-1].key_id == "default"


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00garbage", b"[" * 100_000])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert_protocol_error(response, 400, "invalid_request_error")
    still_serving(client)


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        "a string",
        {"messages": [{"role": "user", "content": "no model"}]},
        {"model": "gpt-4o"},
        {"model": "gpt-4o", "messages": "not a list"},
        {"model": "gpt-4o", "messages": []},
        {"model": "gpt-4o", "messages": ["not an object"]},
        {"model": "gpt-4o", "messages": [{"content": "no role"}]},
        {"model": 4, "messages": [{"role": "user", "content": "x"}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": 12}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"text": "no type"}]}]},
        chat_body(stream="yes"),
        chat_body(max_tokens="ten"),
        chat_body(max_tokens=-1),
        chat_body(n=0),
        chat_body(stop=5),
        chat_body(tools="none"),
        chat_body(tools=[{"type": "function"}]),
        chat_body(tool_choice=42),
        chat_body(response_format={"type": "yaml"}),
        chat_body(stream_options={"include_usage": "yes"}),
    ],
)
def test_wrong_shapes_are_422(client: httpx.Client, body: object) -> None:
    assert_protocol_error(client.post(CHAT, json=body), 422, "validation_error")
    still_serving(client)


@pytest.mark.parametrize(
    ("method", "path", "status", "type_"),
    [
        ("GET", "/nothing-here", 404, "not_found_error"),  # "/" leads to the audit page
        ("GET", "/v1/chat/completions", 404, "not_found_error"),
        ("POST", "/llm/openai-prod/v1/completions", 404, "not_found_error"),
        ("POST", "/llm/openai-prod/v2/chat/completions", 404, "not_found_error"),
        ("GET", CHAT, 405, "method_not_allowed"),
        ("DELETE", CHAT, 405, "method_not_allowed"),
        ("POST", protocol.PROVIDERS_PATH, 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_and_methods(
    client: httpx.Client, method: str, path: str, status: int, type_: str
) -> None:
    response = client.request(method, path, json=chat_body())
    assert_protocol_error(response, status, type_)
    if status == 405:
        assert "allow" in response.headers
    still_serving(client)


@pytest.fixture(scope="module")
def small_gateway() -> Iterator[LocalGateway]:
    with LocalGateway(GatewayConfig(max_body_bytes=2048)) as gateway:
        yield gateway


def test_oversized_body_is_413_by_content_length(small_gateway: LocalGateway) -> None:
    headers = {"Authorization": f"Bearer {small_gateway.api_key}"}
    with httpx.Client(base_url=small_gateway.base_url, headers=headers) as client:
        response = client.post(CHAT, json=chat_body("x " * 5000))
        assert_protocol_error(response, 413, "payload_too_large")
        assert small_gateway.audit[-1].status == 413
        still_serving(client)


def test_oversized_chunked_body_is_413_as_it_streams(small_gateway: LocalGateway) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}]}'

    headers = {"Authorization": f"Bearer {small_gateway.api_key}"}
    with httpx.Client(base_url=small_gateway.base_url, headers=headers) as client:
        response = client.post(CHAT, content=chunks())  # no Content-Length: chunked upload
        assert_protocol_error(response, 413, "payload_too_large")
        still_serving(client)


def test_default_limit_is_ten_mebibytes(client: httpx.Client) -> None:
    big = b'{"model":"m","input":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    assert_protocol_error(client.post(CHAT, content=big), 413, "payload_too_large")
    still_serving(client)


def test_unexpected_exception_is_a_500_protocol_body(
    client: httpx.Client, gw: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conversation: object) -> object:
        raise RuntimeError("backend bug")

    monkeypatch.setattr(handlers_module, "echo_answer", broken)
    response = client.post(CHAT, json=chat_body())
    error = assert_protocol_error(response, 500, "server_error")
    assert "Traceback" not in response.text and "backend bug" not in response.text
    assert error["code"] == "internal_error"
    assert gw.audit[-1].status == 500
    monkeypatch.undo()
    still_serving(client)


def test_request_ids_are_unique_and_on_every_answer(client: httpx.Client) -> None:
    responses = [
        client.post(CHAT, json=chat_body()),
        client.get("/nowhere"),
        client.get(protocol.PROVIDERS_PATH),
        client.post(CHAT, content=b"{"),
    ]
    ids = [r.headers[protocol.REQUEST_ID_HEADER] for r in responses]
    assert len(set(ids)) == len(ids)
