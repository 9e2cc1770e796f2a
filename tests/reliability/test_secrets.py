"""The API key stays secret (docs/protocol.md, "Base URL and key": it never appears in a repr,
an error message, a log line or a serialized object).

The key must not show in the ``repr``/``str`` of any client, model or error, in DEBUG logs of
whole calls, in LangChain's or LlamaIndex's serialisation, in errors when a server echoes it
back, and it must never be carried to another host by a redirect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import secrets
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisDecodeError,
    IgrisError,
    IgrisInputError,
    IgrisStreamError,
    igris_context,
)
from igris_core.local_gateway import Fault, LocalGateway
from tests.reliability.helpers import Seen, send, tiny_server
from tests.reliability.targets import (
    ALL_TARGETS,
    CHAT_MODEL,
    EMBED_MODEL,
    MESSAGES,
    PROMPT,
    Conn,
    Target,
)

SLUG = "openai-prod"


@pytest.fixture
def secret() -> str:
    """A fresh key: a recognisable prefix and 40 random hex digits."""
    return "ig_live_" + secrets.token_hex(20)


def leaks(text: str, secret: str) -> list[str]:
    """The pieces of the key's random part (any 10 characters in a row) found in ``text``:
    a truncated echo (``'...d9d1220f47e0'``) leaks as surely as the whole key."""
    body = secret.split("_")[-1]
    return sorted({body[i : i + 10] for i in range(len(body) - 9) if body[i : i + 10] in text})


def assert_secret_absent(text: str, secret: str, where: str = "") -> None:
    found = leaks(text, secret)
    assert not found, f"the API key leaks in {where or 'the text'}: {found} in {text[:500]!r}"


def error_texts(err: BaseException) -> str:
    """Everything an error shows: str, repr, attributes, and its formatted traceback with
    every chained cause (what a log line with ``exc_info`` would print)."""
    parts = [str(err), repr(err), *map(str, err.args)]
    for name in ("message", "body", "response", "request_id", "code", "type"):
        value = getattr(err, name, None)
        if value is not None:
            parts.append(json.dumps(value, default=repr) if not isinstance(value, str) else value)
    parts.append("".join(traceback.format_exception(err)))
    return "\n".join(parts)


# --- repr and str ------------------------------------------------------------------------------
def _framework_objects(secret: str, base_url: str) -> dict[str, Any]:
    from langchain_igris import ChatIgris, IgrisEmbeddings
    from llama_index_igris import IgrisEmbedding, IgrisLLM

    return {
        "ChatIgris": ChatIgris(model=CHAT_MODEL, api_key=secret, base_url=base_url),
        "IgrisEmbeddings": IgrisEmbeddings(model=EMBED_MODEL, api_key=secret, base_url=base_url),
        "IgrisLLM": IgrisLLM(model=CHAT_MODEL, api_key=secret, base_url=base_url),
        "IgrisEmbedding": IgrisEmbedding(model=EMBED_MODEL, api_key=secret, base_url=base_url),
    }


def test_no_key_in_repr_or_str_of_clients_and_models(secret: str, record_case: Any) -> None:
    record_case("secret: repr/str")
    base_url = "http://127.0.0.1:9"
    client = Igris(secret, base_url=base_url, user="alice")
    aclient = AsyncIgris(secret, base_url=base_url)
    objects: dict[str, Any] = {
        "Igris": client,
        "AsyncIgris": aclient,
        "Igris.with_options": client.with_options(trace_id="t-1"),
        "AsyncIgris.with_options": aclient.with_options(metadata={"team": "x"}),
        "Igris.api_key": client.api_key,
        "Igris._options": client._options,
        "LlmConnection": client.connect_llm(SLUG, user="alice"),
        "Igris.chat": client.chat,
        "Igris.chat.completions": client.chat.completions,
        "Igris.embeddings": client.embeddings,
        **_framework_objects(secret, base_url),
    }
    for name, obj in objects.items():
        for form in (repr, str, format):
            assert_secret_absent(form(obj), secret, f"{form.__name__}({name})")
    for name in ("ChatIgris", "IgrisEmbeddings", "IgrisLLM", "IgrisEmbedding"):
        model = objects[name]
        assert_secret_absent(str(model.model_dump()), secret, f"{name}.model_dump()")
        assert_secret_absent(model.model_dump_json(), secret, f"{name}.model_dump_json()")
    # LlmConnection hands the key to an SDK on request only.
    conn = objects["LlmConnection"]
    assert conn.openai_kwargs()["api_key"] == secret
    assert_secret_absent(conn.model_dump_json(), secret, "LlmConnection.model_dump_json()")


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_langchain_serialisation_keeps_the_key_out(secret: str, record_case: Any) -> None:
    from langchain_core.load import dumpd, dumps, load, loads

    record_case("secret: LangChain dumps")
    objects = _framework_objects(secret, "http://127.0.0.1:9")
    for name in ("ChatIgris", "IgrisEmbeddings"):
        model = objects[name]
        assert_secret_absent(dumps(model), secret, f"dumps({name})")
        assert_secret_absent(json.dumps(dumpd(model)), secret, f"dumpd({name})")
        assert_secret_absent(dumps(model, pretty=True), secret, f"dumps({name}, pretty=True)")
    chat = objects["ChatIgris"]
    text = dumps(chat)
    assert_secret_absent(json.dumps(chat.to_json()), secret, "ChatIgris.to_json()")
    assert '"IGRIS_API_KEY"' in text  # a reference to the secret, resolved on load
    options: dict[str, Any] = {
        "secrets_map": {"IGRIS_API_KEY": secret},
        "valid_namespaces": ["langchain_igris"],
        "allowed_objects": [type(chat)],
    }
    restored = loads(text, **options)
    assert restored.api_key.get_secret_value() == secret
    assert type(load(dumpd(chat), **options)) is type(chat)


def test_llama_index_serialisation_keeps_the_key_out(secret: str, record_case: Any) -> None:
    record_case("secret: LlamaIndex to_dict/to_json")
    objects = _framework_objects(secret, "http://127.0.0.1:9")
    for name in ("IgrisLLM", "IgrisEmbedding"):
        model = objects[name]
        assert_secret_absent(json.dumps(model.to_dict()), secret, f"{name}.to_dict()")
        assert_secret_absent(model.to_json(), secret, f"{name}.to_json()")
        assert_secret_absent(json.dumps(model.dict()), secret, f"{name}.dict()")
        # Loaded back without the key, a model finds it in IGRIS_API_KEY, not in the dump.
        assert "api_key" not in model.to_dict()


def _use(name: str, model: Any) -> object:
    """One call through a framework object."""
    calls: dict[str, Callable[[Any], object]] = {
        "ChatIgris": lambda m: m.invoke(PROMPT),
        "IgrisEmbeddings": lambda m: m.embed_query(PROMPT),
        "IgrisLLM": lambda m: m.complete(PROMPT),
        "IgrisEmbedding": lambda m: m.get_text_embedding(PROMPT),
    }
    return calls[name](model)


def test_pickles_carry_no_key_and_take_it_from_the_environment(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pickles (multiprocessing, Ray, Celery) hold no key in any form; the unpickled object
    reads IGRIS_API_KEY in its own process at first use, and says so when it is missing."""
    from igris_core.local_gateway import GatewayConfig

    with LocalGateway(GatewayConfig(keys={"default": secret})) as gw:
        for name, model in _framework_objects(secret, gw.base_url).items():
            blob = pickle.dumps(model)
            assert_secret_absent(blob.decode("latin-1"), secret, f"pickle of {name}")
            monkeypatch.delenv("IGRIS_API_KEY", raising=False)
            with pytest.raises(IgrisInputError, match="IGRIS_API_KEY environment variable"):
                _use(name, pickle.loads(blob))
                pytest.fail(f"unpickled {name} ran without a key")
            monkeypatch.setenv("IGRIS_API_KEY", secret)
            restored = pickle.loads(blob)
            assert _use(name, restored)
            assert_secret_absent(repr(restored), secret, f"repr(unpickled {name})")


# --- errors at construction -------------------------------------------------------------------
FRAMEWORK_CLASSES = ["ChatIgris", "IgrisEmbeddings", "IgrisLLM", "IgrisEmbedding"]
BAD_CONSTRUCTION: dict[str, dict[str, Any]] = {
    "max_retries=-1": {"max_retries": -1},
    "timeout='x'": {"timeout": "x"},
    "timeout=0": {"timeout": 0},
    "igris_user with LF": {"igris_user": "a\nb"},
    "igris_metadata value 5": {"igris_metadata": {"team": 5}},
    "base_url='ftp://gw'": {"base_url": "ftp://gw"},
    "default_headers with CRLF": {"default_headers": {"X-A": "b\r\n"}},
}


def _construction_cases() -> Iterator[Any]:
    for name in FRAMEWORK_CLASSES:
        for case in BAD_CONSTRUCTION:
            yield pytest.param(name, case, id=f"{name}-{case}")


@pytest.mark.parametrize(("name", "case"), list(_construction_cases()))
def test_construction_errors_never_show_the_key(
    secret: str, name: str, case: str, monkeypatch: pytest.MonkeyPatch, record_case: Any
) -> None:
    """The key given last (and the base URL from the environment), so that a repr of the
    arguments cut short in the middle still ends with it."""
    from langchain_igris import ChatIgris, IgrisEmbeddings
    from llama_index_igris import IgrisEmbedding, IgrisLLM

    record_case("secret: construction errors")
    classes: dict[str, Any] = {
        "ChatIgris": ChatIgris,
        "IgrisEmbeddings": IgrisEmbeddings,
        "IgrisLLM": IgrisLLM,
        "IgrisEmbedding": IgrisEmbedding,
    }
    monkeypatch.setenv("IGRIS_BASE_URL", "http://127.0.0.1:9")
    model = EMBED_MODEL if "Embedding" in name else CHAT_MODEL
    with pytest.raises((ValueError, TypeError)) as info:
        classes[name](model=model, **BAD_CONSTRUCTION[case], api_key=secret)
    assert_secret_absent(error_texts(info.value), secret, f"the {name} construction error")


def test_core_construction_errors_never_show_the_key(secret: str) -> None:
    for bad in ({"max_retries": -1}, {"timeout": "x"}, {"user": "a\nb"}, {"base_url": "ftp://x"}):
        with pytest.raises(ValueError) as info:
            Igris(secret, **{"base_url": "http://127.0.0.1:9", **bad})
        assert_secret_absent(error_texts(info.value), secret, f"Igris({bad})")
    with pytest.raises(ValueError) as info:
        Igris(secret + "\n", base_url="http://127.0.0.1:9")
    assert_secret_absent(error_texts(info.value), secret, "the malformed-key error")


# --- errors, when a server echoes the key --------------------------------------------------------
def _echo(handler: BaseHTTPRequestHandler, shape: str) -> None:
    auth = handler.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ")
    if shape == "json-400":
        body = json.dumps({"error": {"message": f"bad key {key}", "type": "x", "code": key}})
        send(handler, 400, body.encode())
    elif shape == "text-500":
        send(
            handler,
            500,
            f"upstream said: Authorization: {auth}".encode(),
            Content_Type="text/plain",
        )
    elif shape == "text-401":
        send(handler, 401, f"<html>key {key} refused</html>".encode(), Content_Type="text/html")
    elif shape == "malformed-200":
        send(handler, 200, ('{"id": "x", "echo": "' + key + '", "choices": [').encode())
    elif shape == "error-event":
        event = json.dumps(
            {"error": {"message": f"key {key} revoked", "type": "auth", "code": 401}}
        )
        body = f"data: {event}\n\n".encode()
        send(handler, 200, body, Content_Type="text/event-stream")
    elif shape == "malformed-event":
        body = f'data: {{"id": "x", "echo": "{key}", \n\n'.encode()
        send(handler, 200, body, Content_Type="text/event-stream")
    elif shape == "named-error-event":
        body = f"event: error\ndata: key {key} is not valid\n\n".encode()
        send(handler, 200, body, Content_Type="text/event-stream")


ECHO_SHAPES = [
    "json-400",
    "text-500",
    "text-401",
    "malformed-200",
    "error-event",
    "malformed-event",
    "named-error-event",
]
STREAM_SHAPES = {"error-event", "malformed-event", "named-error-event"}


def _echo_cases() -> Iterator[Any]:
    for target in ALL_TARGETS:
        for shape in ECHO_SHAPES:
            if shape in STREAM_SHAPES and target.kind != "stream":
                continue
            yield pytest.param(target, shape, id=f"{target.name}-{shape}")


@pytest.mark.parametrize(("target", "shape"), list(_echo_cases()))
def test_errors_never_show_the_key_a_server_echoes(
    secret: str, target: Target, shape: str, record_case: Any
) -> None:
    record_case("secret: echoed in errors")

    def reply(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        _echo(handler, shape)

    with tiny_server(reply) as (url, seen):
        with pytest.raises(IgrisError) as info:
            target(Conn(url, secret, max_retries=0))
        assert len(seen.requests) == 1
    assert_secret_absent(error_texts(info.value), secret, f"the {shape} error")
    redacted_bodies = {"json-400", "text-500", "text-401", "malformed-event"}
    if target.kind != "stream":
        redacted_bodies.add("malformed-200")
    if shape in redacted_bodies:
        assert info.value.body and "***" in info.value.body  # the raw text, key redacted


def test_decode_errors_keep_the_raw_text_when_it_holds_no_key(secret: str) -> None:
    def reply(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        send(handler, 200, b'{"id": "x", "choices": [')

    with (
        tiny_server(reply) as (url, _),
        Igris(secret, base_url=url, max_retries=0) as client,
        pytest.raises(IgrisDecodeError) as info,
    ):
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    assert info.value.body == '{"id": "x", "choices": ['
    assert "Invalid JSON" in info.value.message  # the parser's reason, without its input
    assert info.value.__cause__ is None  # never chained: the parser's error quotes the body


# --- DEBUG logs of whole calls ---------------------------------------------------------------
LOGGERS = [
    "",
    "igris_core",
    "igris_core.local_gateway",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "asyncio",
    "langchain",
    "langchain_core",
    "langchain_igris",
    "llama_index",
    "llama_index.core",
    "llama_index_igris",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "urllib3",
]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # message, args and any exc_info traceback


@pytest.fixture
def debug_logs() -> Iterator[_Capture]:
    """Every logger at DEBUG, captured in full (tracebacks included)."""
    capture = _Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(capture)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_debug_logs_of_whole_calls_never_show_the_key(
    gw: LocalGateway,
    secret: str,
    debug_logs: _Capture,
    capsys: pytest.CaptureFixture[str],
    delays: Any,
    record_case: Any,
) -> None:
    """Every client class, chat, stream and embeddings, a retried 503, a 401, a cut stream; with
    LangChain's debug mode and LlamaIndex's "simple" handler printing runs."""
    import llama_index.core
    from langchain_core.globals import set_debug
    from llama_index.core import set_global_handler

    record_case("secret: DEBUG logs")
    gw.add_key(secret)
    conn = Conn(gw.base_url, secret)
    set_debug(True)
    set_global_handler("simple")
    try:
        for target in ALL_TARGETS:
            target(conn)
        gw.inject_fault(SLUG, Fault(status=503, times=1))
        for target in ALL_TARGETS[:6]:
            gw.inject_fault(SLUG, Fault(status=503, times=1))
            target(conn)
        wrong = "ig_live_" + secrets.token_hex(20)
        for target in ALL_TARGETS:
            with pytest.raises(IgrisError):
                target(conn.but(api_key=wrong, max_retries=0))
        for target in [t for t in ALL_TARGETS if t.kind == "stream"]:
            gw.inject_fault(SLUG, Fault(cut_after=2, times=1))
            with pytest.raises(IgrisStreamError):
                target(conn)
    finally:
        set_debug(False)
        llama_index.core.global_handler = None
    out = capsys.readouterr()
    logs = "\n".join(debug_logs.lines)
    assert any(line.startswith("igris_core DEBUG") for line in debug_logs.lines)
    assert any(line.startswith("httpcore") for line in debug_logs.lines)
    for text, where in ((logs, "the DEBUG logs"), (out.out + out.err, "stdout/stderr")):
        assert_secret_absent(text, secret, where)
        assert_secret_absent(text, wrong, where)


def test_request_id_and_status_are_logged_without_headers(
    gw: LocalGateway, secret: str, debug_logs: _Capture
) -> None:
    gw.add_key(secret)
    with Igris(secret, base_url=gw.base_url) as client:
        answer = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    ours = [line for line in debug_logs.lines if line.startswith("igris_core DEBUG")]
    assert any(answer.igris_request_id in line and "-> 200" in line for line in ours)
    assert not any("Bearer" in line or "authorization" in line.lower() for line in ours)


# --- redirects: never followed with the key to another host --------------------------------------
@pytest.fixture
def redirect_pair() -> Iterator[tuple[str, Seen, Seen]]:
    """Server A answers every request with 307 to server C (another host: 127.0.0.2);
    C answers 200 and records what it receives."""

    def third(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        send(handler, 200, b'{"ok": true}')

    with tiny_server(third, host="127.0.0.2") as (c_url, c_seen):

        def first(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
            send(handler, 307, b"", Location=c_url + handler.path)

        with tiny_server(first) as (a_url, a_seen):
            yield a_url, a_seen, c_seen


def _follow_happy_sync(url: str, secret: str) -> Igris:
    return Igris(secret, base_url=url, http_client=httpx.Client(follow_redirects=True))


def _follow_happy_async(url: str, secret: str) -> AsyncIgris:
    return AsyncIgris(secret, base_url=url, http_client=httpx.AsyncClient(follow_redirects=True))


def _through(target: Target) -> Callable[[str, str], Any]:
    return lambda url, key: target(Conn(url, key, max_retries=2))


REDIRECT_CALLS: dict[str, Callable[[str, str], Any]] = {
    **{target.name: _through(target) for target in ALL_TARGETS},
    "Igris(http_client follows redirects)": lambda url, key: _follow_happy_sync(
        url, key
    ).chat.completions.create(model=CHAT_MODEL, messages=MESSAGES),
    "AsyncIgris(http_client follows redirects)": lambda url, key: asyncio.run(
        _follow_happy_async(url, key).embeddings.create(model=EMBED_MODEL, input=PROMPT)
    ),
    "Igris.llm_providers": lambda url, key: Igris(key, base_url=url).llm_providers.list(),
}


@pytest.mark.parametrize("call", list(REDIRECT_CALLS))
def test_redirects_are_not_followed_to_another_host(
    redirect_pair: tuple[str, Seen, Seen], secret: str, call: str, record_case: Any
) -> None:
    record_case("secret: redirect not followed")
    a_url, a_seen, c_seen = redirect_pair
    with pytest.raises(IgrisError) as info:
        REDIRECT_CALLS[call](a_url, secret)
    assert info.value.status_code == 307
    assert len(a_seen.requests) == 1  # a 3xx is final: not retried, not followed
    assert c_seen.requests == []  # the other host never heard of the call, nor of the key


def test_framework_models_with_redirect_following_clients_do_not_follow(
    redirect_pair: tuple[str, Seen, Seen], secret: str
) -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_igris import ChatIgris
    from llama_index_igris import IgrisLLM

    a_url, _, c_seen = redirect_pair
    follow = httpx.Client(follow_redirects=True)
    calls = [
        lambda: ChatIgris(
            model=CHAT_MODEL, api_key=secret, base_url=a_url, http_client=follow
        ).invoke(PROMPT),
        lambda: IgrisLLM(model=CHAT_MODEL, api_key=secret, base_url=a_url, http_client=follow).chat(
            [ChatMessage(role="user", content=PROMPT)]
        ),
    ]
    for call in calls:
        with pytest.raises(IgrisError, match="307"):
            call()
    assert c_seen.requests == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_redirect_status_is_followed(secret: str, status: int) -> None:
    """The unit form, over a mock transport: one request, whatever the redirect status."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "gw.test":
            return httpx.Response(status, headers={"Location": "https://elsewhere.test/x"})
        return httpx.Response(200, json={"ok": True})

    transport = httpx.MockTransport(handler)
    client = Igris(
        secret,
        base_url="https://gw.test",
        http_client=httpx.Client(transport=transport, follow_redirects=True),
    )
    with pytest.raises(IgrisError) as info:
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    assert info.value.status_code == status
    assert [r.url.host for r in seen] == ["gw.test"]


def test_identity_scope_never_carries_the_key(secret: str) -> None:
    """What the identity machinery shows (headers for SDK clients) holds no key."""
    client = Igris(secret, base_url="http://127.0.0.1:9")
    with igris_context(user="alice", metadata={"team": "x"}):
        headers = client.identity_headers()
    assert_secret_absent(json.dumps(headers), secret, "identity_headers()")
    assert_secret_absent(json.dumps(client.connect_llm(SLUG).headers), secret, "LlmConnection")
