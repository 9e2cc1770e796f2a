"""Bad input, for every client class (docs/protocol.md, "Model addressing", "Identity headers",
"Base URL and key").

Each bad value is refused on the client with a clear error that names it, and nothing reaches
the gateway (its audit trail stays empty). Good non-ASCII identity values travel
percent-encoded and arrive intact in the gateway's audit trail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisInputError,
    IgrisInputTypeError,
    igris_context,
)
from igris_core.local_gateway import LocalGateway
from tests.reliability.targets import CHAT_MODEL, EMBED_MODEL, MESSAGES, PROMPT


# --- the client classes, behind one interface --------------------------------------------------
@dataclass(frozen=True)
class Subject:
    """A client class: how to build it (neutral option names) and make one call with it."""

    name: str
    framework: bool
    build_fn: Callable[..., Any]
    call_fn: Callable[..., Any]
    per_call_identity: bool

    def build(self, gw: LocalGateway, **opts: Any) -> Any:
        """The client, with ``user``, ``trace_id``, ``metadata``, ``api_key``, ``base_url``,
        ``timeout``, ``max_retries`` or ``model`` set (only those given)."""
        kwargs: dict[str, Any] = {"api_key": gw.api_key, "base_url": gw.base_url}
        kwargs.update(opts)
        if self.framework:
            for name in ("user", "trace_id", "metadata"):
                if name in kwargs:
                    kwargs["igris_" + name] = kwargs.pop(name)
        return self.build_fn(**kwargs)

    def call(self, client: Any, **identity: Any) -> Any:
        """One call; ``identity`` (``user``, ``trace_id``, ``metadata``) as the call's own
        arguments where the class takes them, else in an ``igris_context`` scope."""
        if identity and not self.per_call_identity:
            with igris_context(**identity):
                return self.call_fn(client)
        return self.call_fn(client, **{"igris_" + k: v for k, v in identity.items()})

    def __repr__(self) -> str:
        return self.name


def _igris(api_key: Any, **kwargs: Any) -> Igris:
    kwargs.pop("model", None)
    return Igris(api_key, **kwargs)


def _aigris(api_key: Any, **kwargs: Any) -> AsyncIgris:
    kwargs.pop("model", None)
    return AsyncIgris(api_key, **kwargs)


def _igris_call(client: Igris, **identity: Any) -> Any:
    return client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, **identity)


def _aigris_call(client: AsyncIgris, **identity: Any) -> Any:
    async def run() -> Any:
        async with client:
            return await client.chat.completions.create(
                model=CHAT_MODEL, messages=MESSAGES, **identity
            )

    return asyncio.run(run())


def _chat_igris(**kwargs: Any) -> Any:
    from langchain_igris import ChatIgris

    kwargs.setdefault("model", CHAT_MODEL)
    return ChatIgris(**kwargs)


def _lc_embeddings(**kwargs: Any) -> Any:
    from langchain_igris import IgrisEmbeddings

    kwargs.setdefault("model", EMBED_MODEL)
    return IgrisEmbeddings(**kwargs)


def _igris_llm(**kwargs: Any) -> Any:
    from llama_index_igris import IgrisLLM

    kwargs.setdefault("model", CHAT_MODEL)
    return IgrisLLM(**kwargs)


def _li_embedding(**kwargs: Any) -> Any:
    from llama_index_igris import IgrisEmbedding

    kwargs.setdefault("model", EMBED_MODEL)
    return IgrisEmbedding(**kwargs)


def _llm_chat(llm: Any, **identity: Any) -> Any:
    from llama_index.core.llms import ChatMessage

    return llm.chat([ChatMessage(role="user", content=PROMPT)], **identity)


SUBJECTS = [
    Subject("Igris", False, _igris, _igris_call, True),
    Subject("AsyncIgris", False, _aigris, _aigris_call, True),
    Subject("ChatIgris", True, _chat_igris, lambda m, **kw: m.invoke(PROMPT, **kw), True),
    Subject("IgrisEmbeddings", True, _lc_embeddings, lambda m: m.embed_query(PROMPT), False),
    Subject("IgrisLLM", True, _igris_llm, _llm_chat, True),
    Subject("IgrisEmbedding", True, _li_embedding, lambda m: m.get_text_embedding(PROMPT), False),
]
subjects = pytest.mark.parametrize("subject", SUBJECTS, ids=repr)


@pytest.fixture
def nothing_sent(gw: LocalGateway) -> Iterator[LocalGateway]:
    """The gateway; the test must leave its audit trail empty."""
    yield gw
    assert gw.audit == [], "a refused input still reached the gateway"


def names(err: BaseException, value: object) -> bool:
    """Whether an error message names the bad value (as Python writes it, or as given)."""
    text = str(err)
    return repr(value) in text or (isinstance(value, str) and bool(value) and value in text)


def refuse(
    subject: Subject, gw: LocalGateway, *, at: str, **identity: Any
) -> pytest.ExceptionInfo[BaseException]:
    """Try an identity at construction (``at="default"``) or on a call (``at="call"``)."""
    with pytest.raises((ValueError, TypeError)) as info:
        if at == "default":
            subject.call(subject.build(gw, **identity))
        else:
            subject.call(subject.build(gw), **identity)
    return info


# --- malformed model strings -------------------------------------------------------------------
BAD_MODELS = [
    "gpt-4o",
    "openai-prod/gpt-4o",
    "@openai-prod",
    "@openai-prod/",
    "@/gpt-4o",
    "@-prod/gpt-4o",
    "@open ai/gpt-4o",
    "@openai-prod/gpt 4o",
    "@openai-prod/gpt-4o\n",
    " @openai-prod/gpt-4o",
    "@open\x00ai/gpt-4o",
    "\uff20openai-prod/gpt-4o",  # a full-width @
    "@" + "s" * 65 + "/gpt-4o",
    "",
]


@pytest.mark.parametrize("model", BAD_MODELS, ids=repr)
@subjects
def test_malformed_model_is_refused(
    nothing_sent: LocalGateway, subject: Subject, model: str, record_case: Any
) -> None:
    record_case("bad input: model string")
    with pytest.raises(ValueError) as info:
        if subject.framework:
            subject.build(nothing_sent, model=model)
        elif subject.name == "Igris":
            _igris(nothing_sent.api_key, base_url=nothing_sent.base_url).chat.completions.create(
                model=model, messages=MESSAGES
            )
        else:
            client = _aigris(nothing_sent.api_key, base_url=nothing_sent.base_url)
            asyncio.run(client.chat.completions.create(model=model, messages=MESSAGES))
    assert names(info.value, model)
    assert "@<connection-slug>/<model>" in str(info.value)


@pytest.mark.parametrize("model", [42, None, b"@openai-prod/gpt-4o", ["@openai-prod/gpt-4o"]])
@subjects
def test_non_string_model_is_refused(
    nothing_sent: LocalGateway, subject: Subject, model: object, record_case: Any
) -> None:
    record_case("bad input: model string")
    if isinstance(model, bytes) and subject.framework:
        pytest.skip("pydantic (lax mode) turns bytes into str in the models' fields")
    with pytest.raises((ValueError, TypeError)) as info:
        if subject.framework:
            subject.build(nothing_sent, model=model)
        else:
            client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
            client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
    assert names(info.value, model) or f"input_value={model!r}" in str(info.value)


def test_igris_embeddings_refuses_malformed_models(nothing_sent: LocalGateway) -> None:
    client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    for model in ("text-embedding-3-small", "@openai-prod/", "@bad slug/x"):
        with pytest.raises(IgrisInputError, match="@<connection-slug>/<model>"):
            client.embeddings.create(model=model, input="hello")
    with pytest.raises(IgrisInputError, match="'bad slug'"):
        client.connect_llm("bad slug")


# --- control characters in identity values -------------------------------------------------------
CONTROLS = ["\r", "\n", "\x00", "\r\nX-Igris-User: admin", "\x1b[31m", "\x7f"]


def _identity_with(field: str, control: str) -> tuple[dict[str, Any], object]:
    """An identity whose ``field`` carries ``control``, and the bad value it holds."""
    if field == "metadata_key":
        key = f"team{control}"
        return {"metadata": {key: "search"}}, key
    if field == "metadata_value":
        value = f"search{control}"
        return {"metadata": {"team": value}}, value
    value = f"alice{control}@corp.com"
    return {field: value}, value


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
@pytest.mark.parametrize("field", ["user", "trace_id", "metadata_key", "metadata_value"])
@pytest.mark.parametrize("at", ["default", "call"])
@subjects
def test_control_characters_are_refused_before_sending(
    nothing_sent: LocalGateway,
    subject: Subject,
    at: str,
    field: str,
    control: str,
    record_case: Any,
) -> None:
    record_case("bad input: control characters")
    identity, bad = _identity_with(field, control)
    info = refuse(subject, nothing_sent, at=at, **identity)
    assert names(info.value, bad), str(info.value)


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_control_characters_are_refused_by_igris_context(control: str) -> None:
    for identity, bad in (
        _identity_with("user", control),
        _identity_with("trace_id", control),
        _identity_with("metadata_key", control),
        _identity_with("metadata_value", control),
    ):
        with pytest.raises(IgrisInputError) as info, igris_context(**identity):
            pass
        assert names(info.value, bad)


def test_control_characters_are_refused_in_the_body_user(nothing_sent: LocalGateway) -> None:
    """A body ``user`` field becomes X-Igris-User when nothing else sets one: checked too."""
    client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    with pytest.raises(IgrisInputError, match=r"'bob\\r\\nX: 1'"):
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, user="bob\r\nX: 1")
    with pytest.raises(IgrisInputError, match=r"'bob\\n'"):
        client.embeddings.create(model=EMBED_MODEL, input="x", user="bob\n")


def test_control_characters_are_refused_in_with_options_and_connect_llm(
    nothing_sent: LocalGateway,
) -> None:
    client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    with pytest.raises(IgrisInputError, match=r"'a\\nb'"):
        client.with_options(trace_id="a\nb")
    with pytest.raises(IgrisInputError, match=r"'a\\x00b'"):
        client.connect_llm("openai-prod", metadata={"k": "a\x00b"})
    with pytest.raises(IgrisInputError, match="control characters"):
        Igris(
            nothing_sent.api_key,
            base_url=nothing_sent.base_url,
            default_headers={"X-Extra": "a\r\nb"},
        )


# --- non-ASCII values: percent-encoded on the wire, intact in the audit trail --------------------
UNICODE_IDENTITY: dict[str, Any] = {
    "user": "Zoë Ñandú 山田 🚀",
    "trace_id": " trace-追跡 100% %41 ",
    "metadata": {"team": "Équipe ✓", "note": "a%20b +/?#&=", "empty": ""},
}


@pytest.mark.parametrize("at", ["default", "call", "context"])
@subjects
def test_non_ascii_identity_round_trips(
    gw: LocalGateway, subject: Subject, at: str, record_case: Any
) -> None:
    record_case("non-ASCII identity round trip", 1)
    if at == "default":
        subject.call(subject.build(gw, **UNICODE_IDENTITY))
    elif at == "call":
        subject.call(subject.build(gw), **UNICODE_IDENTITY)
    else:
        with igris_context(**UNICODE_IDENTITY):
            subject.call(subject.build(gw))
    [entry] = gw.audit
    assert entry.status == 200
    assert entry.user == UNICODE_IDENTITY["user"]
    assert entry.trace_id == UNICODE_IDENTITY["trace_id"]
    assert dict(entry.metadata) == UNICODE_IDENTITY["metadata"]


_header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    user=_header_text.filter(lambda s: s.strip() != ""),
    trace_id=_header_text.filter(lambda s: s.strip() != ""),
    key=st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True),
    value=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=80),
)
def test_any_identity_text_round_trips_through_the_gateway(
    igris_gateway_session: LocalGateway, user: str, trace_id: str, key: str, value: str
) -> None:
    """Any text without control characters, through the real HTTP stack and back out of the
    gateway's audit trail (header names arrive lowercased: the keys are drawn lowercase)."""
    gw = igris_gateway_session
    with Igris(gw.api_key, base_url=gw.base_url, max_retries=0) as client:
        answer = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=MESSAGES,
            igris_user=user,
            igris_trace_id=trace_id,
            igris_metadata={key: value},
        )
    entry = next(e for e in reversed(gw.audit) if e.request_id == answer.igris_request_id)
    assert (entry.user, entry.trace_id, dict(entry.metadata)) == (user, trace_id, {key: value})


def test_identity_headers_travel_as_printable_ascii() -> None:
    """On the wire every X-Igris-* value is printable ASCII (percent-encoded UTF-8)."""
    seen_headers: list[list[tuple[bytes, bytes]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_headers.append(list(request.headers.raw))
        return httpx.Response(200, json=_chat_answer())

    client = Igris(
        "ig_test_key",
        base_url="https://gw.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    client.chat.completions.create(
        model=CHAT_MODEL,
        messages=MESSAGES,
        **{"igris_" + k: v for k, v in UNICODE_IDENTITY.items()},
    )
    identity = [(n, v) for n, v in seen_headers[0] if n.lower().startswith(b"x-igris-")]
    assert len(identity) == 2 + len(UNICODE_IDENTITY["metadata"])
    for _, value in identity:
        assert all(0x20 <= b < 0x7F for b in value), value
        assert not value.startswith(b" ") and not value.endswith(b" ")


def _chat_answer() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }


# --- non-string and oversized metadata ------------------------------------------------------------
@pytest.mark.parametrize("value", [5, 1.5, True, None, b"bytes", ["a"], {"a": "b"}], ids=repr)
@pytest.mark.parametrize("at", ["default", "call"])
@subjects
def test_non_string_metadata_values_are_refused(
    nothing_sent: LocalGateway, subject: Subject, at: str, value: object, record_case: Any
) -> None:
    record_case("bad input: metadata type")
    if isinstance(value, bytes) and subject.framework and at == "default":
        pytest.skip("pydantic (lax mode) turns bytes into str in the models' fields")
    info = refuse(subject, nothing_sent, at=at, metadata={"team": value})
    text = str(info.value)
    assert repr(value) in text or f"input_value={value!r}" in text, text
    assert "team" in text


def test_metadata_that_is_not_a_mapping_is_refused(nothing_sent: LocalGateway) -> None:
    for metadata in ("team=search", [("team", "search")], 5):
        with pytest.raises(IgrisInputTypeError) as info:
            Igris(nothing_sent.api_key, base_url=nothing_sent.base_url, metadata=metadata)  # type: ignore[arg-type]
        assert names(info.value, metadata)


OVERSIZED: dict[str, dict[str, Any]] = {
    "user of 513 characters": {"user": "u" * 513},
    "value of 513 characters": {"metadata": {"team": "v" * 513}},
    "33 entries": {"metadata": {f"k{i}": "v" for i in range(33)}},
    "key of 65 characters": {"metadata": {"k" * 65: "v"}},
    "headers over 8 KiB once encoded": {"metadata": {f"k{i}": "é" * 500 for i in range(8)}},
}


@pytest.mark.parametrize("case", list(OVERSIZED))
@pytest.mark.parametrize("at", ["default", "call"])
@subjects
def test_oversized_identity_is_refused(
    nothing_sent: LocalGateway, subject: Subject, at: str, case: str, record_case: Any
) -> None:
    record_case("bad input: oversized identity")
    info = refuse(subject, nothing_sent, at=at, **OVERSIZED[case])
    assert "at most" in str(info.value) or "expected 1 to 64" in str(info.value)


def test_merged_metadata_over_the_limit_is_refused(nothing_sent: LocalGateway) -> None:
    """32 entries on the client plus one more on the call: 33 once merged."""
    client = Igris(
        nothing_sent.api_key,
        base_url=nothing_sent.base_url,
        metadata={f"k{i}": "v" for i in range(32)},
    )
    with pytest.raises(IgrisInputError, match="33 entries"):
        client.chat.completions.create(
            model=CHAT_MODEL, messages=MESSAGES, igris_metadata={"extra": "v"}
        )


# --- API keys ------------------------------------------------------------------------------
BAD_KEYS = ["", " ", "\t", "\n", "ig_live_key\n", " ig_live_key", "ig live key", "ig_live_kéy"]


def _key_cases() -> Iterator[Any]:
    for subject in SUBJECTS:
        for key in BAD_KEYS:
            yield pytest.param(subject, key, id=f"{subject.name}-{key!r}")


@pytest.mark.parametrize(("subject", "key"), list(_key_cases()))
def test_empty_or_malformed_api_key_is_refused_at_construction(
    nothing_sent: LocalGateway, subject: Subject, key: str, record_case: Any
) -> None:
    record_case("bad input: API key")
    with pytest.raises(ValueError) as info:
        subject.build(nothing_sent, api_key=key)
    text = str(info.value)
    assert "API key" in text
    if key.strip():
        assert key.strip() not in text  # the message describes the key, never repeats it


@subjects
def test_missing_api_key_is_refused_at_construction(
    nothing_sent: LocalGateway, subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", "   ")
    with pytest.raises(ValueError, match="IGRIS_API_KEY"):
        subject.build(nothing_sent, api_key=None)
    monkeypatch.delenv("IGRIS_API_KEY")
    with pytest.raises(ValueError, match="IGRIS_API_KEY"):
        subject.build(nothing_sent, api_key=None)


def test_secret_str_keys_are_checked_too(nothing_sent: LocalGateway) -> None:
    with pytest.raises(IgrisInputError, match="empty"):
        Igris(SecretStr(""), base_url=nothing_sent.base_url)
    with pytest.raises(IgrisInputTypeError, match="int"):
        Igris(12345, base_url=nothing_sent.base_url)  # type: ignore[arg-type]


# --- wrong argument types and values -------------------------------------------------------
BAD_OPTIONS: list[tuple[str, object]] = [
    ("timeout", "x"),
    ("timeout", -1),
    ("timeout", 0),
    ("max_retries", -1),
    ("max_retries", 1.5),
    ("max_retries", "many"),
    ("base_url", "ftp://gw.example"),
    ("base_url", "gw.example"),
    ("base_url", 5),
]


@pytest.mark.parametrize(
    ("option", "value"), BAD_OPTIONS, ids=[f"{o}={v!r}" for o, v in BAD_OPTIONS]
)
@subjects
def test_bad_client_options_are_refused_naming_the_value(
    nothing_sent: LocalGateway, subject: Subject, option: str, value: object, record_case: Any
) -> None:
    record_case("bad input: client options")
    with pytest.raises((ValueError, TypeError)) as info:
        subject.build(nothing_sent, **{option: value})
    text = str(info.value)
    assert option in text
    assert repr(value) in text or str(value) in text, text


def _core_calls(client: Igris) -> dict[str, tuple[Callable[[], Any], str]]:
    """Bad calls of the core client: the call, and what its error must name."""
    chat = client.chat.completions.create
    embed = client.embeddings.create
    return {
        "messages='hi'": (lambda: chat(model=CHAT_MODEL, messages="hi"), "'hi'"),
        "messages=[]": (lambda: chat(model=CHAT_MODEL, messages=[]), "[]"),
        "messages=[5]": (lambda: chat(model=CHAT_MODEL, messages=[5]), "position 0: 5"),
        "messages=[{'content': 'x'}]": (
            lambda: chat(model=CHAT_MODEL, messages=[{"content": "x"}]),
            "{'content': 'x'} has no 'role'",
        ),
        "messages=None": (lambda: chat(model=CHAT_MODEL, messages=None), "None"),
        "input=5": (lambda: embed(model=EMBED_MODEL, input=5), "input 5"),
        "input=[]": (lambda: embed(model=EMBED_MODEL, input=[]), "input []"),
        "input=[1.5]": (lambda: embed(model=EMBED_MODEL, input=[1.5]), "[1.5]"),
        "input=None": (lambda: embed(model=EMBED_MODEL, input=None), "None"),
        "input={'a': 'b'}": (lambda: embed(model=EMBED_MODEL, input={"a": "b"}), "{'a': 'b'}"),
        "encoding_format='hex'": (
            lambda: embed(model=EMBED_MODEL, input="x", encoding_format="hex"),
            "'hex'",
        ),
        "dimensions=0": (lambda: embed(model=EMBED_MODEL, input="x", dimensions=0), "0"),
        "dimensions='3'": (lambda: embed(model=EMBED_MODEL, input="x", dimensions="3"), "'3'"),
        "with_options(timeout='x')": (lambda: client.with_options(timeout="x"), "'x'"),
        "with_options(max_retries=-1)": (lambda: client.with_options(max_retries=-1), "-1"),
        "http_client='x'": (lambda: Igris("k", base_url="http://gw", http_client="x"), "'x'"),
        "default_headers='x'": (
            lambda: Igris("k", base_url="http://gw", default_headers="x"),
            "'x'",
        ),
    }


_CORE_CALL_NAMES = list(_core_calls(Igris("k", base_url="http://gw")))


@pytest.mark.parametrize("case", _CORE_CALL_NAMES)
def test_bad_call_arguments_are_refused_naming_the_value(
    nothing_sent: LocalGateway, case: str, record_case: Any
) -> None:
    record_case("bad input: call arguments")
    client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    call, named = _core_calls(client)[case]
    with pytest.raises((IgrisInputError, IgrisInputTypeError)) as info:
        call()
    assert named in str(info.value), str(info.value)
    argument = case.split("=", 1)[0].split("(")[-1]
    assert argument.rstrip("s") in str(info.value) or "message" in str(info.value)


def test_async_client_refuses_the_same_arguments(nothing_sent: LocalGateway) -> None:
    client = AsyncIgris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    with pytest.raises(IgrisInputTypeError, match="'hi'"):
        asyncio.run(client.chat.completions.create(model=CHAT_MODEL, messages="hi"))  # type: ignore[arg-type]
    with pytest.raises(IgrisInputTypeError, match="5"):
        asyncio.run(client.embeddings.create(model=EMBED_MODEL, input=5))  # type: ignore[arg-type]
    with pytest.raises(IgrisInputTypeError, match="AsyncClient"):
        AsyncIgris("k", base_url="http://gw", http_client="x")  # type: ignore[arg-type]


def _framework_calls(gw: LocalGateway) -> dict[str, tuple[Callable[[], Any], str]]:
    """Bad calls of the framework classes: the call, and what its error must name."""
    from llama_index.core.llms import ChatMessage

    def chat_igris() -> Any:
        return _chat_igris(api_key=gw.api_key, base_url=gw.base_url)

    def lc_emb() -> Any:
        return _lc_embeddings(api_key=gw.api_key, base_url=gw.base_url)

    def llm() -> Any:
        return _igris_llm(api_key=gw.api_key, base_url=gw.base_url)

    def li_emb() -> Any:
        return _li_embedding(api_key=gw.api_key, base_url=gw.base_url)

    message = [ChatMessage(role="user", content=PROMPT)]
    return {
        "ChatIgris.invoke(igris_metadata={'n': 5})": (
            lambda: chat_igris().invoke(PROMPT, igris_metadata={"n": 5}),
            "value 5",
        ),
        "ChatIgris.stream(igris_trace_id=7)": (
            lambda: list(chat_igris().stream(PROMPT, igris_trace_id=7)),
            "7",
        ),
        "IgrisEmbeddings.embed_documents('hello')": (
            lambda: lc_emb().embed_documents("hello"),
            "'hello'",
        ),
        "IgrisEmbeddings.embed_documents(5)": (lambda: lc_emb().embed_documents(5), "5"),
        "IgrisEmbeddings.embed_query(5)": (lambda: lc_emb().embed_query(5), "5"),
        "IgrisEmbeddings.embed_documents([5])": (lambda: lc_emb().embed_documents([5]), "5"),
        "IgrisLLM.chat('hi')": (lambda: llm().chat("hi"), "'hi'"),
        "IgrisLLM.chat(igris_metadata={'n': 5})": (
            lambda: llm().chat(message, igris_metadata={"n": 5}),
            "value 5",
        ),
        "IgrisLLM.complete(5)": (lambda: llm().complete(5), "5"),
        "IgrisEmbedding.get_text_embedding(5)": (lambda: li_emb().get_text_embedding(5), "5"),
        "IgrisEmbedding.get_query_embedding(None)": (
            lambda: li_emb().get_query_embedding(None),
            "None",
        ),
    }


_FRAMEWORK_BUGS: dict[str, str] = {}

_FRAMEWORK_CASES = [
    pytest.param(case, marks=pytest.mark.xfail(reason=_FRAMEWORK_BUGS[case], strict=True))
    if case in _FRAMEWORK_BUGS
    else case
    for case in (
        "ChatIgris.invoke(igris_metadata={'n': 5})",
        "ChatIgris.stream(igris_trace_id=7)",
        "IgrisEmbeddings.embed_documents('hello')",
        "IgrisEmbeddings.embed_documents(5)",
        "IgrisEmbeddings.embed_query(5)",
        "IgrisEmbeddings.embed_documents([5])",
        "IgrisLLM.chat('hi')",
        "IgrisLLM.chat(igris_metadata={'n': 5})",
        "IgrisLLM.complete(5)",
        "IgrisEmbedding.get_text_embedding(5)",
        "IgrisEmbedding.get_query_embedding(None)",
    )
]


@pytest.mark.parametrize("case", _FRAMEWORK_CASES)
def test_bad_framework_call_arguments_are_refused_before_sending(
    nothing_sent: LocalGateway, case: str, record_case: Any
) -> None:
    record_case("bad input: framework call arguments")
    call, named = _framework_calls(nothing_sent)[case]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert named in str(info.value), str(info.value)
    assert nothing_sent.audit == []


def test_refusals_are_typed_for_except_clauses(nothing_sent: LocalGateway) -> None:
    """``except ValueError`` / ``except TypeError`` catch the core's refusals as Python
    programmers expect."""
    client = Igris(nothing_sent.api_key, base_url=nothing_sent.base_url)
    with pytest.raises(TypeError):
        client.chat.completions.create(model=CHAT_MODEL, messages="hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(TypeError):
        Igris(nothing_sent.api_key, base_url=nothing_sent.base_url, metadata={"k": 5})  # type: ignore[dict-item]
