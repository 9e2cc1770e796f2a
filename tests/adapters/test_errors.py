"""``igris_core.adapters.to_igris_error``: an adapted SDK client raises the SDK's own exceptions;
the helper turns them into the typed ``IgrisError`` the rest of the package raises, with the same
status mapping, the gateway's request id and no trace of the key."""

from __future__ import annotations

import pickle
import socket
from typing import Any

import anthropic
import httpx
import openai
import pytest

from igris_core import (
    Igris,
    IgrisAuthError,
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputError,
    IgrisInputTypeError,
    IgrisNotFoundError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisServerError,
    IgrisTimeoutError,
    protocol,
)
from igris_core.adapters import to_igris_error
from igris_core.adapters.anthropic import with_igris as anthropic_via_igris
from igris_core.adapters.openai import with_igris as openai_via_igris
from igris_core.local_gateway import Fault, LocalGateway
from tests.adapters.helpers import IGRIS_KEY, Recorder, anthropic_http, chat, message

OPENAI_SLUG = "openai-prod"
ANTHROPIC_SLUG = "anthropic-prod"


def _openai(igris: Igris, **kwargs: Any) -> Any:
    return openai_via_igris(
        openai.OpenAI(api_key="unused", max_retries=0, **kwargs), igris, OPENAI_SLUG
    )


def _anthropic(igris: Igris, **kwargs: Any) -> Any:
    client = anthropic.Anthropic(api_key="unused", max_retries=0, **kwargs)
    return anthropic_via_igris(client, igris, ANTHROPIC_SLUG)


def _sdk_error(call: Any) -> Exception:
    with pytest.raises((openai.APIError, anthropic.APIError)) as info:
        call()
    return info.value


SDK_CALLS = {
    "openai": (_openai, chat),
    "anthropic": (_anthropic, message),
}


@pytest.fixture(params=sorted(SDK_CALLS))
def sdk(request: pytest.FixtureRequest) -> Any:
    return SDK_CALLS[request.param]


def test_a_policy_denial_becomes_igris_policy_denied_error(
    gw: LocalGateway, gw_igris: Igris, sdk: Any
) -> None:
    make, call = sdk
    gw.deny("no-greetings", pattern="(?i)hi")
    exc = _sdk_error(lambda: call(make(gw_igris)))
    err = to_igris_error(exc)
    assert type(err) is IgrisPolicyDeniedError
    assert err.status_code == 403
    assert err.code == "no-greetings"
    [entry] = gw.audit
    assert err.request_id is not None and err.request_id == entry.request_id
    assert isinstance(err.response, dict) and "error" in err.response


def test_a_rate_limit_becomes_igris_rate_limit_error_with_retry_after(
    gw: LocalGateway, gw_igris: Igris, sdk: Any
) -> None:
    make, call = sdk
    gw.rate_limit("one-per-minute", limit=1, window=60, per="key")
    client = make(gw_igris)
    call(client)
    err = to_igris_error(_sdk_error(lambda: call(client)))
    assert type(err) is IgrisRateLimitError
    assert err.status_code == 429 and err.code == "one-per-minute"
    assert err.retry_after is not None and 0 < err.retry_after <= 60
    assert err.request_id == gw.audit[-1].request_id


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, IgrisAuthError), (404, IgrisNotFoundError), (503, IgrisServerError), (418, IgrisError)],
)
def test_every_status_maps_as_the_protocol_says(
    gw: LocalGateway, gw_igris: Igris, sdk: Any, status: int, expected: type[IgrisError]
) -> None:
    make, call = sdk
    gw.inject_fault(OPENAI_SLUG, Fault(status=status))
    gw.inject_fault(ANTHROPIC_SLUG, Fault(status=status))
    err = to_igris_error(_sdk_error(lambda: call(make(gw_igris))))
    assert type(err) is expected is protocol.error_class_for_status(status)
    assert err.status_code == status


def test_the_sdk_exception_is_kept_as_the_cause_and_the_error_pickles(
    gw: LocalGateway, gw_igris: Igris
) -> None:
    gw.deny("no-greetings", pattern="(?i)hi")
    exc = _sdk_error(lambda: chat(_openai(gw_igris)))
    err = to_igris_error(exc)
    assert err.__cause__ is exc
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), copy.status_code, copy.request_id) == (
        IgrisPolicyDeniedError,
        403,
        err.request_id,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_answer_becomes_igris_connection_error_naming_the_url(sdk: Any) -> None:
    make, call = sdk
    base_url = f"http://127.0.0.1:{_free_port()}"
    with Igris(IGRIS_KEY, base_url=base_url) as igris:
        err = to_igris_error(_sdk_error(lambda: call(make(igris))))
    assert type(err) is IgrisConnectionError
    assert err.status_code is None
    assert f"POST {base_url}/llm/" in err.message


def test_a_timeout_becomes_igris_timeout_error(gw: LocalGateway, gw_igris: Igris, sdk: Any) -> None:
    make, call = sdk
    gw.inject_fault(OPENAI_SLUG, Fault(latency=2.0))
    gw.inject_fault(ANTHROPIC_SLUG, Fault(latency=2.0))
    err = to_igris_error(_sdk_error(lambda: call(make(gw_igris, timeout=0.2))))
    assert isinstance(err, IgrisTimeoutError)
    assert "timed out" in err.message.lower() or "timeout" in err.message.lower()


def _echo_key(request: Any) -> Any:
    """A hostile gateway that writes the credential it received into its error body."""
    key = request.headers.get("authorization", "") + " " + request.headers.get("x-api-key", "")
    module = anthropic_http if isinstance(request, anthropic_http.Request) else httpx
    return module.Response(
        403,
        json={"error": {"message": f"denied for {key}", "type": "policy_denied"}},
        headers={protocol.REQUEST_ID_HEADER: "req-hostile"},
    )


def test_the_key_is_redacted_from_everything_the_error_holds() -> None:
    with Igris(IGRIS_KEY, base_url="https://gw.test") as igris:
        oai = openai.OpenAI(
            api_key="unused",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(_echo_key)),
        )
        ant = anthropic.Anthropic(
            api_key="unused",
            max_retries=0,
            http_client=anthropic_http.Client(transport=anthropic_http.MockTransport(_echo_key)),
        )
        clients = [
            (openai_via_igris(oai, igris, OPENAI_SLUG), chat),
            (anthropic_via_igris(ant, igris, ANTHROPIC_SLUG), message),
        ]
        for client, call in clients:
            err = to_igris_error(_sdk_error(lambda c=client, f=call: f(c)))
            assert type(err) is IgrisPolicyDeniedError
            assert err.request_id == "req-hostile"
            dumped = " ".join(
                [str(err), repr(err), err.message, str(err.body), repr(err.response)]
            ) + repr(pickle.dumps(err))
            assert IGRIS_KEY not in dumped
            assert "***" in err.message


def test_an_answer_of_the_wrong_shape_becomes_igris_decode_error() -> None:
    rec = Recorder()
    with Igris(IGRIS_KEY, base_url="https://gw.test") as igris:

        def wrong_shape(request: Any) -> Any:
            rec(request)
            return httpx.Response(200, json=["not", "a", "completion"])

        oai = openai.OpenAI(
            api_key="unused",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(wrong_shape)),
            _strict_response_validation=True,
        )
        client = openai_via_igris(oai, igris, OPENAI_SLUG)
        err = to_igris_error(_sdk_error(lambda: chat(client)))
    assert type(err) is IgrisDecodeError
    assert err.status_code == 200
    assert err.body is not None and "not" in err.body


def test_an_igris_error_is_returned_as_it_is() -> None:
    original = IgrisInputError("invalid user 'a\\nb': expected no control characters")
    assert to_igris_error(original) is original


@pytest.mark.parametrize("value", [ValueError("boom"), "a string", None])
def test_anything_else_is_refused_with_the_expected_form(value: Any) -> None:
    with pytest.raises(IgrisInputTypeError, match=r"expected .*openai.*anthropic"):
        to_igris_error(value)


def _openai_stream(client: Any) -> None:
    list(chat(client, stream=True))


def _anthropic_stream(client: Any) -> None:
    with client.messages.stream(
        model="claude-3-5-sonnet-20241022",
        max_tokens=64,
        messages=[{"role": "user", "content": "Hi there, how are you"}],
    ) as stream:
        stream.get_final_text()


@pytest.mark.parametrize(
    ("make", "consume"), [(_openai, _openai_stream), (_anthropic, _anthropic_stream)]
)
def test_a_denial_before_the_stream_becomes_igris_policy_denied_error(
    gw: LocalGateway, gw_igris: Igris, make: Any, consume: Any
) -> None:
    gw.deny("no-greetings", pattern="(?i)hi")
    err = to_igris_error(_sdk_error(lambda: consume(make(gw_igris))))
    assert type(err) is IgrisPolicyDeniedError
    assert err.request_id == gw.audit[-1].request_id


@pytest.mark.parametrize(
    ("make", "consume"), [(_openai, _openai_stream), (_anthropic, _anthropic_stream)]
)
def test_an_error_event_in_a_stream_becomes_the_typed_error(
    gw: LocalGateway, gw_igris: Igris, make: Any, consume: Any
) -> None:
    for slug in (OPENAI_SLUG, ANTHROPIC_SLUG):
        gw.inject_fault(slug, Fault(status=429, error_event_after=1))
    err = to_igris_error(_sdk_error(lambda: consume(make(gw_igris))))
    assert type(err) is IgrisRateLimitError
    assert (err.status_code, err.type, err.code) == (429, "rate_limit_error", "fault_injected")
