"""ChatIgris without a gateway: construction, requests, answers, errors, secrets, serialisation
(every request answered by an ``httpx.MockTransport``)."""

from __future__ import annotations

import json
import pickle
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelPermissionDeniedError
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.rate_limiters import BaseRateLimiter

from igris_core import (
    IgrisAuthError,
    IgrisError,
    IgrisInputError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    igris_context,
)
from langchain_igris import ChatIgris
from tests.langchain_igris.helpers import (
    API_KEY,
    BASE_URL,
    MODEL,
    Recorder,
    chat_body,
    either,
    error_reply,
    json_reply,
    make_chat,
    sse_reply,
    text_stream_chunks,
)

# --- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["gpt-4o", "@openai-prod", "@/gpt-4o", "openai-prod/gpt-4o", "@a b/c"]
)
def test_model_is_validated_at_construction(bad: str) -> None:
    with pytest.raises(IgrisInputError) as err:
        ChatIgris(model=bad, api_key=API_KEY, base_url=BASE_URL)
    assert repr(bad) in str(err.value)
    assert "@<connection-slug>/<model>" in str(err.value) or "@slug" in str(err.value)


def test_model_may_contain_slashes_and_colons() -> None:
    llm = ChatIgris(model="@together/meta-llama/Llama-3-70b:free", api_key=API_KEY)
    assert llm.model == llm.model_name == "@together/meta-llama/Llama-3-70b:free"
    assert ChatIgris(model_name=MODEL, api_key=API_KEY).model == MODEL  # ChatOpenAI's spelling


def test_missing_key_is_refused_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGRIS_API_KEY", raising=False)
    # ValueError: a pydantic ValidationError for a field, an IgrisInputError for client options
    with pytest.raises(ValueError, match="IGRIS_API_KEY"):
        ChatIgris(model=MODEL)
    with pytest.raises(ValueError, match="empty"):
        ChatIgris(model=MODEL, api_key="")


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", "ig_from_env")
    monkeypatch.setenv("IGRIS_BASE_URL", "http://env-gateway:9000")
    llm = ChatIgris(model=MODEL)
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "ig_from_env"
    assert llm.base_url == "http://env-gateway:9000"
    # an explicit argument wins over the environment
    assert ChatIgris(model=MODEL, base_url="http://explicit").base_url == "http://explicit"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("igris_user", "alice\nbob", "'alice\\nbob'"),
        ("igris_trace_id", "", "''"),
        ("igris_metadata", {"bad key": "x"}, "'bad key'"),
        ("base_url", "ftp://nope", "'ftp://nope'"),
        ("timeout", -1, "-1"),
    ],
)
def test_bad_options_are_refused_at_construction(field: str, value: Any, shown: str) -> None:
    with pytest.raises(IgrisInputError) as err:
        ChatIgris(model=MODEL, api_key=API_KEY, **{field: value})
    assert shown in str(err.value)
    assert API_KEY not in str(err.value)


def test_n_rules() -> None:
    with pytest.raises(IgrisInputError, match="at least 1"):
        make_chat(n=0)
    with pytest.raises(IgrisInputError, match="streaming"):
        make_chat(n=2, streaming=True)


def test_unknown_kwargs_move_to_model_kwargs_with_a_warning() -> None:
    recorder = Recorder()
    with pytest.warns(UserWarning, match="logit_bias"):
        llm = make_chat(recorder, logit_bias={"50256": -100})
    assert llm.model_kwargs == {"logit_bias": {"50256": -100}}
    llm.invoke("hi")
    assert recorder.body["logit_bias"] == {"50256": -100}
    with pytest.warns(UserWarning, match="temperature"):
        llm = make_chat(model_kwargs={"temperature": 0.3})
    assert llm.temperature == 0.3 and llm.model_kwargs == {}


def test_aliases() -> None:
    llm = make_chat(max_completion_tokens=7, stop_sequences=["x"], request_timeout=5)
    assert (llm.max_tokens, llm.stop, llm.timeout) == (7, ["x"], 5)


# --- requests -----------------------------------------------------------------------------------


def test_invoke_request() -> None:
    recorder = Recorder()
    llm = make_chat(
        recorder,
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["END"],
        presence_penalty=0.1,
        frequency_penalty=0.2,
        seed=7,
        logprobs=True,
        top_logprobs=2,
        reasoning_effort="low",
        extra_body={"metadata_x": 1},
        model_kwargs={"user": "body-user"},
        default_headers={"X-Team": "search"},
    )
    llm.invoke([SystemMessage("Be brief."), HumanMessage("Hi", name="alice")])
    request = recorder.requests[-1]
    assert str(request.url) == f"{BASE_URL}/llm/openai-prod/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-team"] == "search"
    assert recorder.body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "name": "alice"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "top_p": 0.9,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "seed": 7,
        "logprobs": True,
        "top_logprobs": 2,
        "reasoning_effort": "low",
        "metadata_x": 1,
        "user": "body-user",
    }
    # The body's `user` becomes X-Igris-User when nothing else sets a user
    # (docs/protocol.md, "Identity headers").
    assert request.headers["x-igris-user"] == "body-user"


def test_call_kwargs_override_defaults() -> None:
    recorder = Recorder()
    llm = make_chat(recorder, temperature=0.2, stop=["a"])
    llm.invoke("hi", temperature=0.9, stop=["b"], max_tokens=3, extra_headers={"X-Call": "1"})
    assert recorder.body["temperature"] == 0.9
    assert recorder.body["stop"] == ["b"]
    assert recorder.body["max_tokens"] == 3
    assert recorder.headers["x-call"] == "1"
    llm.invoke("hi", stream=False)  # BaseChatModel's own switch is not sent
    assert "stream" not in recorder.body


def test_model_override_per_call() -> None:
    recorder = Recorder(json_reply(chat_body(model="claude-3-5-sonnet")))
    llm = make_chat(recorder)
    result = llm.invoke("hi", model="@anthropic-prod/claude-3-5-sonnet")
    assert recorder.requests[-1].url.path == "/llm/anthropic-prod/v1/chat/completions"
    assert recorder.body["model"] == "claude-3-5-sonnet"
    assert result.response_metadata["model_name"] == "@anthropic-prod/claude-3-5-sonnet"
    with pytest.raises(IgrisInputError, match="'claude'"):
        llm.invoke("hi", model="claude")
    assert len(recorder.requests) == 1  # refused before any request


def test_answer_conversion() -> None:
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "total_tokens": 30,
        "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    logprobs = {"content": [{"token": "Hi", "logprob": -0.1, "top_logprobs": []}]}
    body = chat_body("Hi there", usage=usage)
    body["choices"][0]["logprobs"] = logprobs
    llm = make_chat(Recorder(json_reply(body)))
    message = llm.invoke("hi")
    assert isinstance(message, AIMessage)
    assert message.content == "Hi there"
    assert message.usage_metadata == {
        "input_tokens": 20,
        "output_tokens": 10,
        "total_tokens": 30,
        "input_token_details": {"cache_read": 8, "audio": 0},
        "output_token_details": {"reasoning": 4},
    }
    meta = message.response_metadata
    assert meta["model_name"] == "@openai-prod/gpt-4o-2024-08-06"
    assert meta["model_provider"] == "igris"
    assert meta["finish_reason"] == "stop"
    assert meta["system_fingerprint"] == "fp_test"
    assert meta["igris_request_id"] == "req_test"
    assert meta["id"] == "chatcmpl-123"
    assert meta["logprobs"] == logprobs
    assert meta["token_usage"]["prompt_tokens"] == 20


def test_usage_without_details() -> None:
    llm = make_chat(Recorder(json_reply(chat_body())))
    assert llm.invoke("hi").usage_metadata == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }


def test_reasoning_and_refusal() -> None:
    body = chat_body("42", reasoning_content="Thinking it over.", refusal=None)
    llm = make_chat(Recorder(json_reply(body)))
    message = llm.invoke("hi")
    assert message.additional_kwargs["reasoning_content"] == "Thinking it over."
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "Thinking it over."}
    v1 = make_chat(Recorder(json_reply(body)), output_version="v1").invoke("hi")
    assert [b["type"] for b in v1.content] == ["reasoning", "text"]  # type: ignore[index, union-attr]
    refused = make_chat(Recorder(json_reply(chat_body(None, refusal="I can't help.")))).invoke("x")
    assert refused.additional_kwargs["refusal"] == "I can't help."
    assert refused.content == ""


def test_n_generations() -> None:
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": f"answer {i}"},
            "finish_reason": "stop",
        }
        for i in range(3)
    ]
    recorder = Recorder(json_reply(chat_body(choices=choices)))
    llm = make_chat(recorder, n=3)
    result = llm.generate([[HumanMessage("hi")]])
    generations = result.generations[0]
    assert [g.text for g in generations] == ["answer 0", "answer 1", "answer 2"]
    assert recorder.body["n"] == 3
    assert generations[0].message.usage_metadata is not None  # type: ignore[attr-defined]
    assert generations[1].message.usage_metadata is None  # type: ignore[attr-defined]
    assert all(g.message.response_metadata["model_name"] for g in generations)
    assert result.llm_output is not None and result.llm_output["token_usage"]["total_tokens"] == 15
    with pytest.raises(IgrisInputError, match="n must be 1 when streaming"):
        list(llm.stream("hi"))


def test_batch_and_combined_usage() -> None:
    llm = make_chat()
    assert [m.content for m in llm.batch(["a", "b", "c"])] == ["Hello!"] * 3
    result = llm.generate([[HumanMessage("a")], [HumanMessage("b")]])
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["total_tokens"] == 30


async def test_async_invoke_and_batch() -> None:
    recorder = Recorder()
    llm = make_chat(recorder)
    assert (await llm.ainvoke("hi")).content == "Hello!"
    assert [m.content for m in await llm.abatch(["a", "b"])] == ["Hello!", "Hello!"]
    assert len(recorder.requests) == 3


def test_rate_limiter_is_used() -> None:
    class Counting(BaseRateLimiter):
        calls = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            Counting.calls += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            Counting.calls += 1
            return True

    llm = make_chat(Recorder(either("a")), rate_limiter=Counting())
    llm.invoke("hi")
    list(llm.stream("hi"))
    assert Counting.calls == 2


def test_retries_follow_max_retries() -> None:
    recorder = Recorder(error_reply(503, **{"retry-after": "0"}), json_reply(chat_body("ok")))
    assert make_chat(recorder, max_retries=1).invoke("hi").content == "ok"
    assert len(recorder.requests) == 2


# --- identity -----------------------------------------------------------------------------------


def _identity(request: httpx.Request) -> tuple[str | None, str | None, dict[str, str]]:
    headers = request.headers
    metadata = {
        k[len("x-igris-metadata-") :]: v
        for k, v in headers.items()
        if k.startswith("x-igris-metadata-")
    }
    return headers.get("x-igris-user"), headers.get("x-igris-trace-id"), metadata


def test_identity_precedence_and_metadata_merging() -> None:
    recorder = Recorder()
    llm = make_chat(
        recorder,
        igris_user="instance",
        igris_trace_id="instance-trace",
        igris_metadata={"team": "instance", "app": "chat"},
    )
    llm.invoke("hi")
    assert _identity(recorder.requests[-1]) == (
        "instance",
        "instance-trace",
        {"team": "instance", "app": "chat"},
    )
    with igris_context(user="context", metadata={"team": "context", "ctx": "1"}):
        llm.invoke("hi")
        assert _identity(recorder.requests[-1]) == (
            "context",
            "instance-trace",
            {"team": "context", "app": "chat", "ctx": "1"},
        )
        config = {"metadata": {"igris_user": "config", "igris_metadata": {"team": "config"}}}
        llm.invoke("hi", config=config)  # type: ignore[arg-type]
        assert _identity(recorder.requests[-1]) == (
            "config",
            "instance-trace",
            {"team": "config", "app": "chat", "ctx": "1"},
        )
        llm.invoke(
            "hi",
            config=config,  # type: ignore[arg-type]
            igris_user="call",
            igris_trace_id="call-trace",
            igris_metadata={"call": "yes"},
        )
        assert _identity(recorder.requests[-1]) == (
            "call",
            "call-trace",
            {"team": "config", "app": "chat", "ctx": "1", "call": "yes"},
        )
    # nothing in the body
    assert not any(key.startswith("igris") for key in recorder.body)


def test_identity_on_every_path() -> None:
    recorder = Recorder(either("a"))
    llm = make_chat(recorder)
    config: Any = {"metadata": {"igris_user": "run-user"}}
    list(llm.stream("hi", config=config))
    assert recorder.headers["x-igris-user"] == "run-user"
    make_chat(recorder, streaming=True).invoke("hi", config=config)
    assert recorder.headers["x-igris-user"] == "run-user"
    llm.bind(igris_user="bound").invoke("hi", config=config)
    assert recorder.headers["x-igris-user"] == "bound"
    list(llm.stream("hi", igris_trace_id="t-9"))
    assert recorder.headers["x-igris-trace-id"] == "t-9"
    assert "x-igris-user" not in recorder.headers  # no leak from the earlier runs
    llm.batch(["a", "b"], config=config)
    assert recorder.headers["x-igris-user"] == "run-user"


async def test_identity_async_paths() -> None:
    recorder = Recorder(either("a"))
    llm = make_chat(recorder)
    config: Any = {"metadata": {"igris_user": "async-user", "igris_metadata": {"k": "v"}}}
    [c async for c in llm.astream("hi", config=config)]
    assert recorder.headers["x-igris-user"] == "async-user"
    assert recorder.headers["x-igris-metadata-k"] == "v"
    await make_chat(recorder, streaming=True).ainvoke("hi", config=config)
    assert recorder.headers["x-igris-user"] == "async-user"
    await llm.ainvoke("hi", igris_user="call")
    assert recorder.headers["x-igris-user"] == "call"


def test_stream_does_not_leak_its_run_identity() -> None:
    recorder = Recorder(sse_reply(text_stream_chunks("a", "b", "c")))
    llm = make_chat(recorder)
    other = make_chat(recorder)
    config: Any = {"metadata": {"igris_user": "streaming-user"}}
    for _ in llm.stream("hi", config=config):
        list(other.stream("nested"))
        assert "x-igris-user" not in recorder.headers


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"igris_user": "a\r\nX-Evil: 1"}, "control characters"),
        ({"igris_metadata": {"team": 5}}, "5"),
        ({"igris_trace_id": 42}, "42"),
    ],
)
def test_bad_call_identity_is_refused_before_any_request(
    kwargs: dict[str, Any], shown: str
) -> None:
    recorder = Recorder()
    llm = make_chat(recorder)
    with pytest.raises(IgrisInputError, match=shown) as err:
        llm.invoke("hi", **kwargs)
    assert "keyword arguments" in str(err.value)
    with pytest.raises(IgrisInputError, match="RunnableConfig"):
        llm.invoke("hi", config={"metadata": {"igris_user": 7}})
    assert recorder.requests == []


# --- errors ---------------------------------------------------------------------------------


def test_typed_errors_are_also_langchain_model_errors() -> None:
    llm = make_chat(Recorder(error_reply(403, "blocked by policy")))
    with pytest.raises(IgrisPolicyDeniedError) as err:
        llm.invoke("hi")
    assert err.value.status_code == 403
    assert err.value.request_id == "req_test"
    assert isinstance(err.value, ModelPermissionDeniedError)
    assert err.value.is_retryable is False


def test_fallbacks_on_rate_limit() -> None:
    limited = make_chat(Recorder(error_reply(429, "slow down", **{"retry-after": "0"})))
    backup = make_chat(Recorder(json_reply(chat_body("from backup"))))
    chain = limited.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,))
    assert chain.invoke("hi").content == "from backup"
    denied = make_chat(Recorder(error_reply(403)))
    with pytest.raises(IgrisPolicyDeniedError):
        denied.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,)).invoke("x")


def test_errors_reach_callbacks() -> None:
    class Errors(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[BaseException] = []

        def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            self.seen.append(error)

    handler = Errors()
    llm = make_chat(Recorder(error_reply(500)))
    with pytest.raises(IgrisError):
        llm.invoke("hi", config={"callbacks": [handler]})
    assert isinstance(handler.seen[-1], IgrisError)


# --- secrets, pickling, serialisation -------------------------------------------------------


def test_key_never_shown() -> None:
    llm = make_chat()
    for text in (repr(llm), str(llm), dumps(llm), json.dumps(dumpd(llm)), repr(llm.asdict())):
        assert API_KEY not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["IGRIS_API_KEY"]}
    with pytest.raises(IgrisAuthError) as err:
        make_chat(Recorder(error_reply(401, f"bad key {API_KEY}"))).invoke("hi")
    assert API_KEY not in str(err.value) and API_KEY not in repr(err.value)


def test_pickle_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", API_KEY)  # where an unpickled model finds its key
    llm = make_chat(temperature=0.3, igris_user="pickled")
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.temperature == 0.3 and clone.igris_user == "pickled"
    assert clone.http_client is None  # httpx clients are not pickled
    assert clone.api_key is None  # pickles carry no key: IGRIS_API_KEY is read at first use
    assert API_KEY not in pickle.dumps(llm).decode("latin-1")
    assert clone._client_set is None  # rebuilt on first use
    assert clone._clients().sync().identity.user == "pickled"


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_load_round_trip() -> None:
    llm = make_chat(temperature=0.5, igris_metadata={"team": "a"})
    loaded = loads(
        dumps(llm),
        secrets_map={"IGRIS_API_KEY": API_KEY},
        valid_namespaces=["langchain_igris"],
        allowed_objects=[ChatIgris],
    )
    assert isinstance(loaded, ChatIgris)
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == API_KEY
    assert (loaded.model, loaded.temperature, loaded.igris_metadata) == (
        MODEL,
        0.5,
        {"team": "a"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = load(
            dumpd(llm),
            secrets_map={"IGRIS_API_KEY": API_KEY},
            valid_namespaces=["langchain_igris"],
            allowed_objects=[ChatIgris],
        )
    assert again.asdict() == llm.asdict()


def test_langsmith_params() -> None:
    llm = make_chat(temperature=0.1, max_tokens=9, stop="END")
    assert llm._get_ls_params() == {
        "ls_provider": "igris",
        "ls_model_name": MODEL,
        "ls_model_type": "chat",
        "ls_temperature": 0.1,
        "ls_max_tokens": 9,
        "ls_stop": ["END"],
    }
    params = llm._get_ls_params(stop=["x"], model="@other/m", temperature=0.7)
    assert (params["ls_stop"], params["ls_model_name"], params["ls_temperature"]) == (
        ["x"],
        "@other/m",
        0.7,
    )
    assert llm._llm_type == "igris-chat"
    assert ChatIgris.get_lc_namespace() == ["langchain_igris", "chat_models"]
    assert llm.lc_secrets == {"api_key": "IGRIS_API_KEY"}
    assert llm._get_invocation_params(stop=["s"])["stop"] == ["s"]


def test_changed_fields_rebuild_the_clients() -> None:
    recorder = Recorder()
    llm = make_chat(recorder, igris_user="before")
    llm.invoke("hi")
    llm.igris_user = "after"
    llm.invoke("hi")
    copy = llm.model_copy(update={"igris_trace_id": "copied"})
    copy.invoke("hi")
    assert [r.headers.get("x-igris-user") for r in recorder.requests] == [
        "before",
        "after",
        "after",
    ]
    assert recorder.headers["x-igris-trace-id"] == "copied"
    # the original keeps no trace id of its own (the header holds its run's automatic id)
    assert recorder.requests[1].headers["x-igris-trace-id"] != "copied"


def test_max_retries_none_means_the_default() -> None:
    llm = make_chat(max_retries=None)
    assert llm._clients().sync().max_retries == 2
