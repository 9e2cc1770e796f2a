"""Igris / AsyncIgris: construction, request shape, identity, resources, retries, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisAuthError,
    IgrisBadRequestError,
    IgrisConflictError,
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputError,
    IgrisInputTypeError,
    IgrisNotFoundError,
    IgrisPayloadTooLargeError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisServerError,
    IgrisTimeoutError,
    IgrisValidationError,
    igris_context,
)
from igris_core._codec import floats_to_b64
from tests.conftest import Delay
from tests.igris_core.helpers import Recorder, chat_answer

KEY = "ig_test_secret_key"
MSGS = [{"role": "user", "content": "Hello"}]
Make = Callable[..., tuple[Igris, Recorder]]
MakeAsync = Callable[..., tuple[AsyncIgris, Recorder]]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=chat_answer(), headers={"X-Igris-Request-Id": "req_1"})


# --- construction ----------------------------------------------------------------------------


def test_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", "ig_env")
    assert Igris().api_key.get_secret_value() == "ig_env"


@pytest.mark.parametrize("key", ["", "   ", None])
def test_empty_key_raises_value_error_that_is_an_igris_error(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    monkeypatch.delenv("IGRIS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="IGRIS_API_KEY") as info:
        Igris(key)
    assert isinstance(info.value, IgrisError)
    with pytest.raises(IgrisInputError):
        AsyncIgris(key)


def test_key_with_newline_refused() -> None:
    with pytest.raises(IgrisInputError, match="stray newline") as info:
        Igris("ig_key\n")
    assert "ig_key" not in str(info.value)


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGRIS_BASE_URL", raising=False)
    assert Igris(KEY).base_url == "https://api.igrisecurity.com"
    monkeypatch.setenv("IGRIS_BASE_URL", "https://env.example/")
    assert Igris(KEY).base_url == "https://env.example"
    assert Igris(KEY, base_url="http://arg.example:8080/gw/").base_url == (
        "http://arg.example:8080/gw"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "ftp://x"}, "http"),
        ({"base_url": 3}, "base_url 3"),
        ({"timeout": -1}, "timeout -1"),
        ({"timeout": "10"}, "timeout '10'"),
        ({"max_retries": -1}, "max_retries -1"),
        ({"max_retries": 1.5}, "max_retries 1.5"),
        ({"user": "a\nb"}, "control"),
        ({"metadata": {"bad key": "v"}}, "metadata key"),
        ({"http_client": object()}, "httpx.Client"),
        ({"default_headers": {"x": 1}}, "strings"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(IgrisInputError, match=match):
        Igris(KEY, **kwargs)


# --- request shape ---------------------------------------------------------------------------


def test_request_shape(make_client: Make) -> None:
    client, rec = make_client(ok)
    answer = client.chat.completions.create(
        model="@openai-prod/gpt-4o", messages=MSGS, temperature=0.2, custom_field={"x": 1}
    )
    request = rec.requests[0]
    assert str(request.url) == "https://gw.test/llm/openai-prod/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("igris-integrations-python/")
    assert rec.bodies[0] == {
        "model": "gpt-4o",
        "messages": MSGS,
        "temperature": 0.2,
        "custom_field": {"x": 1},
    }
    assert answer.choices[0].message.content == "hi"
    assert answer.igris_request_id == "req_1"
    assert answer.usage is not None and answer.usage.total_tokens == 4


def test_unknown_response_fields_are_kept(make_client: Make) -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, json=chat_answer(provider_extra={"a": 1}))
    )
    answer = client.chat.completions.create(model="@p/m", messages=MSGS)
    assert answer.model_extra == {"provider_extra": {"a": 1}}


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ("hello", "list of message dicts"),
        ([], "at least one message"),
        ([{"content": "x"}], "no 'role'"),
        (["x"], "position 0"),
    ],
)
def test_bad_messages_refused_before_sending(make_client: Make, messages: Any, match: str) -> None:
    client, rec = make_client(ok)
    with pytest.raises(IgrisInputError, match=match):
        client.chat.completions.create(model="@p/m", messages=messages)
    assert rec.requests == []


def test_bad_model_refused_before_sending(make_client: Make) -> None:
    client, rec = make_client(ok)
    with pytest.raises(IgrisInputError, match="'gpt-4o'"):
        client.chat.completions.create(model="gpt-4o", messages=MSGS)
    assert rec.requests == []


def test_stream_asks_for_usage_unless_told_not_to(make_client: Make) -> None:
    client, rec = make_client(
        lambda r: httpx.Response(
            200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"}
        )
    )
    list(client.chat.completions.create(model="@p/m", messages=MSGS, stream=True))
    list(
        client.chat.completions.create(
            model="@p/m", messages=MSGS, stream=True, stream_options={"include_usage": False}
        )
    )
    assert rec.bodies[0]["stream"] is True
    assert rec.bodies[0]["stream_options"] == {"include_usage": True}
    assert rec.bodies[1]["stream_options"] == {"include_usage": False}
    assert rec.requests[0].headers["accept"] == "text/event-stream"


# --- identity --------------------------------------------------------------------------------


def igris_headers(request: httpx.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("x-igris-")}


def test_identity_layers_reach_the_wire(make_client: Make) -> None:
    client, rec = make_client(ok, user="default", metadata={"team": "core", "env": "dev"})
    derived = client.with_options(trace_id="derived-trace", metadata={"env": "staging"})
    derived.chat.completions.create(model="@p/m", messages=MSGS)
    with igris_context(user="scope", metadata={"env": "scope", "ticket": "T-1"}):
        derived.chat.completions.create(model="@p/m", messages=MSGS)
        derived.chat.completions.create(
            model="@p/m", messages=MSGS, igris_user="call", igris_metadata={"env": "call"}
        )
    assert igris_headers(rec.requests[0]) == {
        "x-igris-user": "default",
        "x-igris-trace-id": "derived-trace",
        "x-igris-metadata-team": "core",
        "x-igris-metadata-env": "staging",
    }
    assert igris_headers(rec.requests[1]) == {
        "x-igris-user": "scope",
        "x-igris-trace-id": "derived-trace",
        "x-igris-metadata-team": "core",
        "x-igris-metadata-env": "scope",
        "x-igris-metadata-ticket": "T-1",
    }
    assert igris_headers(rec.requests[2])["x-igris-user"] == "call"
    assert igris_headers(rec.requests[2])["x-igris-metadata-env"] == "call"


def test_body_user_becomes_the_header_only_when_unset(make_client: Make) -> None:
    client, rec = make_client(ok)
    client.chat.completions.create(model="@p/m", messages=MSGS, user="body-user")
    client.with_options(user="opt").chat.completions.create(
        model="@p/m", messages=MSGS, user="body-user"
    )
    assert rec.requests[0].headers["x-igris-user"] == "body-user"
    assert rec.requests[1].headers["x-igris-user"] == "opt"
    assert rec.bodies[1]["user"] == "body-user"


def test_non_ascii_identity_is_percent_encoded(make_client: Make) -> None:
    client, rec = make_client(ok)
    client.chat.completions.create(
        model="@p/m", messages=MSGS, igris_user="Zoë", igris_metadata={"city": "Zürich 50%"}
    )
    assert rec.requests[0].headers["x-igris-user"] == "Zo%C3%AB"
    assert rec.requests[0].headers["x-igris-metadata-city"] == "Z%C3%BCrich 50%25"


def test_bad_per_call_identity_sends_nothing(make_client: Make) -> None:
    client, rec = make_client(ok)
    with pytest.raises(IgrisInputError):
        client.chat.completions.create(model="@p/m", messages=MSGS, igris_trace_id="a\r\nb")
    with pytest.raises(IgrisInputTypeError):
        client.chat.completions.create(model="@p/m", messages=MSGS, igris_metadata={"n": 1})  # type: ignore[dict-item]
    assert rec.requests == []


def test_with_options_shares_the_pool(make_client: Make) -> None:
    client, _ = make_client(ok)
    derived = client.with_options(timeout=5, max_retries=0, user="x")
    assert derived._transport is client._transport
    assert derived.max_retries == 0 and derived.timeout.read == 5
    assert client.max_retries == 2
    derived.close()  # a derived client never closes the shared pool
    assert not client._transport.client.is_closed
    client.close()
    assert client._transport.client.is_closed is False  # the caller's http_client stays open


def test_own_pool_is_closed_by_the_context_manager() -> None:
    with Igris(KEY, base_url="https://gw.test") as client:
        pool = client._transport.client
    assert pool.is_closed


def test_connect_llm(make_client: Make) -> None:
    client, _ = make_client(ok, user="default")
    with igris_context(trace_id="ctx"):
        conn = client.connect_llm("openai-prod", metadata={"role": "developer"})
    assert conn.base_url == "https://gw.test/llm/openai-prod/v1"
    assert conn.api_key.get_secret_value() == KEY
    assert conn.headers == {
        "X-Igris-User": "default",
        "X-Igris-Trace-Id": "ctx",
        "X-Igris-Metadata-role": "developer",
    }
    assert KEY not in repr(conn) and KEY not in conn.model_dump_json()
    assert conn.openai_kwargs()["api_key"] == KEY
    with pytest.raises(IgrisInputError, match="'bad slug'"):
        client.connect_llm("bad slug")


# --- providers and embeddings ----------------------------------------------------------------


def test_providers(make_client: Make) -> None:
    body = [
        {
            "slug": "openai",
            "name": "OpenAI",
            "baseUrl": "https://api.openai.com/v1",
            "authStyle": "bearer",
            "supportedEndpoints": ["chat", "embeddings"],
        },
        {
            "slug": "ollama",
            "name": "Ollama",
            "baseUrl": None,
            "authStyle": "none",
            "supportedEndpoints": ["chat"],
        },
    ]
    client, rec = make_client(lambda r: httpx.Response(200, json=body))
    providers = client.llm_providers.list()
    assert rec.requests[0].method == "GET"
    assert rec.requests[0].url.path == "/llm/providers"
    assert providers[0].base_url == "https://api.openai.com/v1"
    assert providers[0].supported_endpoints == ["chat", "embeddings"]
    assert providers[1].base_url is None and providers[1].auth_style == "none"


VEC = [0.25, -0.5, 1.0]


def embeddings_handler(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    encode = body.get("encoding_format") == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": floats_to_b64(VEC) if encode else VEC}
        for i in range(len(texts))
    ]
    data.reverse()  # out of order on purpose: the client sorts by index
    return httpx.Response(
        200,
        json={
            "object": "list",
            "data": data,
            "model": "e",
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        },
    )


def test_embeddings_base64_on_the_wire_floats_to_the_caller(make_client: Make) -> None:
    client, rec = make_client(embeddings_handler)
    res = client.embeddings.create(
        model="@openai-prod/text-embedding-3-small", input=["a", "b"], dimensions=3
    )
    assert rec.bodies[0] == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "encoding_format": "base64",
        "dimensions": 3,
    }
    assert [d.index for d in res.data] == [0, 1]
    assert res.data[0].embedding == VEC


def test_embeddings_float_answer_accepted_and_base64_kept_when_asked(make_client: Make) -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"data": [{"index": 0, "embedding": VEC}]})
    )
    assert client.embeddings.create(model="@p/e", input="a").data[0].embedding == VEC
    client2, _ = make_client(embeddings_handler)
    res = client2.embeddings.create(model="@p/e", input="a", encoding_format="base64")
    assert res.data[0].embedding == floats_to_b64(VEC)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input": []}, "at least one"),
        ({"input": 5}, "invalid input 5"),
        ({"input": ["a", 1]}, "invalid input"),
        ({"input": "a", "dimensions": 0}, "dimensions 0"),
        ({"input": "a", "encoding_format": "hex"}, "'hex'"),
    ],
)
def test_bad_embedding_input(make_client: Make, kwargs: dict[str, Any], match: str) -> None:
    client, rec = make_client(embeddings_handler)
    with pytest.raises(IgrisInputError, match=match):
        client.embeddings.create(model="@p/e", **kwargs)
    assert rec.requests == []


def test_malformed_base64_is_a_decode_error(make_client: Make) -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"data": [{"index": 0, "embedding": "abc"}]})
    )
    with pytest.raises(IgrisDecodeError):
        client.embeddings.create(model="@p/e", input="a")


# --- errors ----------------------------------------------------------------------------------

STATUS_CLASSES = [
    (400, IgrisBadRequestError),
    (401, IgrisAuthError),
    (403, IgrisPolicyDeniedError),
    (404, IgrisNotFoundError),
    (409, IgrisConflictError),
    (413, IgrisPayloadTooLargeError),
    (418, IgrisError),
    (422, IgrisValidationError),
    (429, IgrisRateLimitError),
    (500, IgrisServerError),
    (502, IgrisServerError),
    (503, IgrisServerError),
    (504, IgrisServerError),
    (507, IgrisServerError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_each_status_maps_to_its_class(
    make_client: Make, delays: list[Delay], status: int, cls: type[IgrisError]
) -> None:
    body = {"error": {"message": f"nope {status}", "type": "some_type", "code": "rule-7"}}
    client, rec = make_client(
        lambda r: httpx.Response(
            status, json=body, headers={"X-Igris-Request-Id": "req_e", "Retry-After": "0"}
        )
    )
    with pytest.raises(cls) as info:
        client.chat.completions.create(model="@p/m", messages=MSGS)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.request_id == "req_e"
    assert err.response == body
    assert err.message == f"nope {status}"
    assert (err.type, err.code) == ("some_type", "rule-7")
    retried = status in {408, 429, 500, 502, 503, 504}
    assert len(rec.requests) == (3 if retried else 1)


def test_non_json_error_keeps_the_raw_text(make_client: Make, delays: list[Delay]) -> None:
    client, _ = make_client(lambda r: httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(IgrisServerError) as info:
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert info.value.body == "<html>Bad gateway</html>"
    assert info.value.response is None
    assert "Bad gateway" in info.value.message


def test_malformed_success_body(make_client: Make) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, text='{"id": "x", "choices": [}'))
    with pytest.raises(IgrisDecodeError) as info:
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert info.value.body == '{"id": "x", "choices": [}'
    assert info.value.status_code == 200


def test_redirects_are_not_followed(make_client: Make) -> None:
    client, rec = make_client(
        lambda r: httpx.Response(307, headers={"Location": "https://evil.example/steal"})
    )
    with pytest.raises(IgrisError) as info:
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert info.value.status_code == 307
    assert [str(r.url.host) for r in rec.requests] == ["gw.test"]


# --- retries ---------------------------------------------------------------------------------


def sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_retry_after_is_honoured(make_client: Make, delays: list[Delay]) -> None:
    client, rec = make_client(
        sequence(
            httpx.Response(429, json={"error": {"message": "slow"}}, headers={"Retry-After": "3"}),
            httpx.Response(503, headers={"retry-after-ms": "250"}),
            httpx.Response(200, json=chat_answer()),
        )
    )
    client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 3
    assert [d.wait for d in delays] == [3.0, 0.25]


def test_retry_after_http_date_and_cap(make_client: Make, delays: list[Delay]) -> None:
    client, _ = make_client(
        sequence(
            httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            httpx.Response(429, headers={"Retry-After": "99999"}),
            httpx.Response(200, json=chat_answer()),
        )
    )
    client.chat.completions.create(model="@p/m", messages=MSGS)
    # A date in the past is no instruction: the client's own backoff applies.
    assert 0 < delays[0].wait <= 0.5
    assert delays[1].wait == 60.0


def test_rate_limit_error_carries_retry_after(make_client: Make, delays: list[Delay]) -> None:
    client, _ = make_client(
        lambda r: httpx.Response(
            429, json={"error": {"message": "x"}}, headers={"Retry-After": "7"}
        )
    )
    with pytest.raises(IgrisRateLimitError) as info:
        client.with_options(max_retries=0).chat.completions.create(model="@p/m", messages=MSGS)
    assert info.value.retry_after == 7.0


def test_backoff_grows_without_retry_after(make_client: Make, delays: list[Delay]) -> None:
    client, rec = make_client(lambda r: httpx.Response(500), max_retries=3)
    with pytest.raises(IgrisServerError):
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 4
    waits = [d.wait for d in delays]
    assert 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0 and 1.5 <= waits[2] <= 2.0


def test_max_retries_zero_disables_retries(make_client: Make, delays: list[Delay]) -> None:
    client, rec = make_client(lambda r: httpx.Response(503), max_retries=0)
    with pytest.raises(IgrisServerError):
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 1


def test_connection_errors_are_retried_then_typed(make_client: Make, delays: list[Delay]) -> None:
    client, rec = make_client(
        sequence(httpx.ConnectError("refused"), httpx.Response(200, json=chat_answer()))
    )
    client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 2
    client2, rec2 = make_client(sequence(*[httpx.ConnectError("refused")] * 3))
    with pytest.raises(IgrisConnectionError) as info:
        client2.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec2.requests) == 3
    assert info.value.status_code is None
    assert not isinstance(info.value, IgrisTimeoutError)


def test_timeouts_are_typed(make_client: Make, delays: list[Delay]) -> None:
    client, rec = make_client(sequence(*[httpx.ReadTimeout("slow")] * 3))
    with pytest.raises(IgrisTimeoutError):
        client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 3


# --- async -----------------------------------------------------------------------------------


async def test_async_client_end_to_end(make_async_client: MakeAsync, delays: list[Delay]) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if request.url.path.endswith("/embeddings"):
            return embeddings_handler(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return ok(request)

    client, rec = make_async_client(handler, user="u")
    async with client:
        answer = await client.chat.completions.create(model="@p/m", messages=MSGS)
        assert answer.choices[0].message.content == "hi"
        emb = await client.embeddings.create(model="@p/e", input=["x"])
        assert emb.data[0].embedding == VEC
        with igris_context(trace_id="t-async"):
            await client.with_options(metadata={"k": "v"}).chat.completions.create(
                model="@p/m", messages=MSGS
            )
    assert len(rec.requests) == 4
    assert rec.requests[-1].headers["x-igris-trace-id"] == "t-async"
    assert rec.requests[-1].headers["x-igris-metadata-k"] == "v"
    assert rec.requests[-1].headers["x-igris-user"] == "u"


async def test_async_errors(make_async_client: MakeAsync, delays: list[Delay]) -> None:
    client, rec = make_async_client(
        lambda r: httpx.Response(403, json={"error": {"message": "denied by rule"}})
    )
    with pytest.raises(IgrisPolicyDeniedError, match="denied by rule"):
        await client.chat.completions.create(model="@p/m", messages=MSGS)
    assert len(rec.requests) == 1


# --- secrets ---------------------------------------------------------------------------------


def test_key_never_in_repr_errors_or_debug_logs(
    make_client: Make, delays: list[Delay], caplog: pytest.LogCaptureFixture
) -> None:
    echo_key = {"error": {"message": f"bad key {KEY}", "type": "authentication_error"}}
    client, _ = make_client(
        sequence(
            httpx.Response(200, json=chat_answer()),
            httpx.Response(401, json=echo_key),
        )
    )
    caplog.set_level(logging.DEBUG)
    client.chat.completions.create(model="@p/m", messages=MSGS)
    with pytest.raises(IgrisAuthError) as info:
        client.chat.completions.create(model="@p/m", messages=MSGS)
    err = info.value
    for text in (
        repr(client),
        str(client),
        repr(err),
        str(err),
        err.body or "",
        caplog.text,
        repr(client.api_key),
        repr(client.with_options(user="x")),
    ):
        assert KEY not in text
    assert "POST /llm/p/v1/chat/completions -> 200" in caplog.text
    assert "request_id=" in caplog.text and "attempt=1" in caplog.text
    assert "Hello" not in caplog.text  # no bodies in logs


def test_errors_pickle() -> None:
    import pickle

    err = IgrisRateLimitError("slow", retry_after=2.0, status_code=429, request_id="r")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is IgrisRateLimitError
    assert (copy.retry_after, copy.status_code, copy.request_id, copy.message) == (
        2.0,
        429,
        "r",
        "slow",
    )
