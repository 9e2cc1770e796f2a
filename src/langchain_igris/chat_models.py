"""``ChatIgris``: LangChain chat model over the Igris gateway."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, cast

import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    Callbacks,
)
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableGenerator,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
    RunnableSerializable,
    ensure_config,
)
from langchain_core.runnables.utils import AnyConfigurableField
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from igris_core import (
    Identity,
    IgrisInputError,
    current_context,
    model_profile,
    parse_model,
    protocol,
)
from igris_core._pool import ModelClients, clients_of, state_without_clients
from igris_core._tracing import run_trace_scope
from langchain_igris._arguments import drop_openai_client_arguments
from langchain_igris._arguments import rename_arguments as _rename
from langchain_igris._convert import (
    StreamConverter,
    chat_result,
    json_schema_of,
    messages_to_wire,
    response_format_to_wire,
    tool_choice_to_wire,
    tool_names,
)
from langchain_igris._errors import langchain_errors
from langchain_igris._identity import (
    UNSET,
    cache_identity,
    call_identity,
    reset_run_metadata,
    run_metadata,
    set_run_metadata,
)
from langchain_igris._runs import LS_PROVIDER, current_model_run, model_run_scope, run_trace_id
from langchain_igris._schema import drop_added_nulls
from langchain_igris._scope import ain_scope, in_scope
from langchain_igris._tokens import count_messages, count_text, encoding_for

__all__ = ["ChatIgris"]

_SAMPLING_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logprobs",
    "top_logprobs",
    "n",
    "reasoning_effort",
)
# ChatOpenAI's other spellings of some arguments.
_SPELLINGS = {
    "model_name": "model",
    "request_timeout": "timeout",
    "max_completion_tokens": "max_tokens",
    "stop_sequences": "stop",
}

# ChatOpenAI arguments that only make sense for OpenAI's own client, and why.
_RESPONSES_ONLY = "the gateway serves chat completions, not OpenAI's Responses API"
_OPENAI_CLIENT_ONLY = {
    "openai_api_key": "pass api_key (the Igris key); the provider's key stays in the gateway",
    "openai_api_base": "pass base_url (the gateway's URL) and model='@slug/model'",
    "openai_organization": "the organization belongs to the gateway connection's settings",
    "openai_proxy": "pass http_client=httpx.Client(proxy=...) instead",
    "http_socket_options": "pass http_client=httpx.Client(...) with your transport instead",
    "client": "ChatIgris builds its own clients; pass http_client=httpx.Client(...)",
    "async_client": "ChatIgris builds its own clients; pass http_async_client=...",
    "root_client": "ChatIgris builds its own clients; pass http_client=httpx.Client(...)",
    "root_async_client": "ChatIgris builds its own clients; pass http_async_client=...",
    "default_query": "the gateway's routes take no query parameters",
    "stream_chunk_timeout": "pass timeout=httpx.Timeout(..., read=seconds) instead",
    "disabled_params": "leave the parameter unset instead",
    "tiktoken_model_name": "token counting follows the model's own family (see get_num_tokens)",
    "use_responses_api": _RESPONSES_ONLY,
    "use_previous_response_id": _RESPONSES_ONLY,
    "include": _RESPONSES_ONLY,
    "truncation": _RESPONSES_ONLY,
    "context_management": _RESPONSES_ONLY,
}

# model, wire messages, body fields, identity, extra headers, the run's automatic trace id
_Request = tuple[str, list[dict[str, Any]], dict[str, Any], Identity | None, Any, str | None]


def _refusal_check(message: BaseMessage) -> None:
    refusal = message.additional_kwargs.get("refusal")
    if refusal:
        try:
            from langchain_core.exceptions import ModelRefusalError
        except ImportError:  # langchain-core < 1.7.5
            from langchain_core.exceptions import OutputParserException

            raise OutputParserException(f"the model refused: {refusal}") from None
        raise ModelRefusalError(f"the model refused: {refusal}", raw_message=message)


def _cut_check(message: BaseMessage) -> None:
    # LangChain's JSON parser closes a cut string ('{"name": "Par' parses), so an answer that
    # ran out of tokens would pass for a whole one: a cut answer is an error, never a short one.
    if message.response_metadata.get("finish_reason") == "length":
        raise OutputParserException(
            "the structured answer was cut at max_tokens (finish_reason 'length'): raise "
            "max_tokens or ask for less",
            llm_output=message.text,
        )


def _check_answer(messages: Iterator[BaseMessage]) -> Iterator[BaseMessage]:
    for message in messages:
        _refusal_check(message)
        _cut_check(message)
        yield message


async def _acheck_answer(messages: AsyncIterator[BaseMessage]) -> AsyncIterator[BaseMessage]:
    async for message in messages:
        _refusal_check(message)
        _cut_check(message)
        yield message


def _strict_parser(schema: Any, is_pydantic: bool) -> Runnable[Any, Any]:
    """The parser of a strict ``json_schema`` answer: JSON, the ``null`` strict mode forced on
    optional properties removed again (see ``_schema``), then the pydantic class if any."""
    original = json_schema_of(schema)
    as_json = JsonOutputParser()

    def parse(message: BaseMessage) -> Any:
        data = drop_added_nulls(as_json.invoke(message), original)
        if not is_pydantic:
            return data
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            raise OutputParserException(
                f"the answer does not match {schema.__name__}: {exc}", llm_output=message.text
            ) from exc

    return RunnableLambda(parse)


class ChatIgris(BaseChatModel):
    """Chat models through the Igris LLM security gateway.

    Every call goes through the gateway's connection route (``@slug/model``), with the
    gateway's identity headers (user, trace id, metadata) for its audit trail. A drop-in for
    ``ChatOpenAI``: same messages, tools, structured output, streaming and usage metadata.

    Setup:
        Install ``igris-integrations[langchain]`` and set your key::

            pip install "igris-integrations[langchain]"
            export IGRIS_API_KEY="ig_..."
            export IGRIS_BASE_URL="https://api.igrisecurity.com"  # optional

    Key init args — completion params:
        model: str
            ``"@<connection-slug>/<model>"``, e.g. ``"@openai-prod/gpt-4o"`` (checked here).
        temperature, max_tokens, top_p, stop, presence_penalty, frequency_penalty, seed,
        logprobs, top_logprobs, n, reasoning_effort:
            Sent as OpenAI's fields of the same name.
        model_kwargs: dict
            Any other body field, passed through unchanged.

    Key init args — client params:
        api_key: SecretStr
            ``IGRIS_API_KEY`` when not given.
        base_url: str
            ``IGRIS_BASE_URL``, else ``https://api.igrisecurity.com``.
        timeout, max_retries, default_headers, http_client, http_async_client:
            Transport settings (retries: 408/429/5xx and no answer).
        igris_user, igris_trace_id, igris_metadata:
            The default identity of every call (``X-Igris-*`` headers).

    Instantiate:
        .. code-block:: python

            from langchain_igris import ChatIgris

            llm = ChatIgris(model="@openai-prod/gpt-4o", temperature=0, max_tokens=200)

    Invoke:
        .. code-block:: python

            llm.invoke([("system", "Translate to French."), ("human", "I love programming.")])
            # AIMessage(content="J'adore la programmation.", response_metadata={...})

    Stream:
        .. code-block:: python

            for chunk in llm.stream("Write a haiku about the sea"):
                print(chunk.text, end="")

    Identity:
        .. code-block:: python

            llm.invoke("Hi", igris_user="alice@corp.com")             # one call
            chain.invoke(x, config={"metadata": {"igris_user": "alice@corp.com"}})  # a run
            with igris_context(trace_id="ticket-981"):                 # a block of code
                agent.invoke(x)

    Tool calling:
        .. code-block:: python

            from pydantic import BaseModel, Field

            class GetWeather(BaseModel):
                '''Get the current weather in a given location.'''

                location: str = Field(..., description="The city, e.g. Paris")

            llm_with_tools = llm.bind_tools([GetWeather], tool_choice="auto")
            llm_with_tools.invoke("What's the weather in Paris?").tool_calls
            # [{'name': 'GetWeather', 'args': {'location': 'Paris'}, 'id': 'call_...', ...}]

    Structured output:
        .. code-block:: python

            class Joke(BaseModel):
                '''A joke.'''

                setup: str
                punchline: str

            llm.with_structured_output(Joke, method="json_schema").invoke("Tell me a joke")
            # Joke(setup='...', punchline='...')

    Usage metadata:
        .. code-block:: python

            llm.invoke("Hello").usage_metadata
            # {'input_tokens': 8, 'output_tokens': 9, 'total_tokens': 17,
            #  'input_token_details': {'cache_read': 0}, ...}

    Errors:
        Each error is its typed ``igris_core`` class (``IgrisPolicyDeniedError``,
        ``IgrisRateLimitError``, ...) and also the matching ``langchain_core.exceptions``
        class (``ModelPermissionDeniedError``, ``ModelRateLimitError``, ``ContextOverflowError``,
        ...), so ``llm.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,))``
        works and agent retry middleware never retries a policy denial.

    Profile and token counting:
        ``llm.profile`` comes from ``igris_core._profiles`` for known models (a ``profile=``
        given wins). ``get_num_tokens*`` work offline: exact with a locally cached tiktoken
        encoding (OpenAI models), else about 4 characters per token.

    Notes:
        ``response_metadata["model_name"]`` and LangSmith's ``ls_model_name`` use the
        ``@slug/model`` form (``"@openai-prod/gpt-4o-2024-08-06"`` for the model the provider
        reports), so they name the connection that served the call. With ``n > 1``,
        ``usage_metadata`` (the whole answer's usage) is on the first generation only.
    """

    model: str
    """The model, as ``"@<connection-slug>/<model>"``."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(protocol.ENV_API_KEY, default=None)
    )
    """The Igris API key; ``IGRIS_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=from_env(protocol.ENV_BASE_URL, default=None))
    """The gateway's base URL; ``IGRIS_BASE_URL``, else the hosted gateway."""
    timeout: float | httpx.Timeout | None = protocol.DEFAULT_TIMEOUT
    """Seconds per request (or an ``httpx.Timeout``); ``None`` waits forever."""
    max_retries: int | None = protocol.DEFAULT_MAX_RETRIES
    """Retries of a failed request (408, 429, 5xx, no answer); 0 turns them off."""
    max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES
    """The largest answer accepted, after decompression (``IgrisResponseTooLargeError``)."""
    max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES
    """The largest stream line or event (``IgrisStreamError`` beyond it)."""
    stream_timeout: float | None = None
    """An optional limit, in seconds, on the whole of a stream."""
    temperature: float | None = None
    """Sampling temperature."""
    max_tokens: int | None = None
    """Maximum number of tokens to generate."""
    top_p: float | None = None
    """Nucleus sampling: the probability mass of the tokens considered."""
    stop: list[str] | str | None = None
    """Default stop sequences."""
    presence_penalty: float | None = None
    """Penalises tokens already present."""
    frequency_penalty: float | None = None
    """Penalises tokens by their frequency so far."""
    seed: int | None = None
    """Seed for (best-effort) deterministic sampling."""
    logprobs: bool | None = None
    """Return the log probabilities of the output tokens (``response_metadata["logprobs"]``)."""
    top_logprobs: int | None = None
    """How many most likely tokens to return at each position, with ``logprobs``."""
    n: int | None = None
    """How many answers to generate per prompt (``generate`` returns them all)."""
    reasoning_effort: str | None = None
    """Reasoning effort of reasoning models (``"low"``, ``"medium"``, ``"high"``, ...)."""
    streaming: bool = False
    """Stream the answer even for ``invoke`` (callbacks then get ``on_llm_new_token``)."""
    stream_usage: bool = True
    """Ask for token usage in streams (on the last chunk); ``False`` sends
    ``stream_options.include_usage = false``."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body fields, passed through unchanged (unknown constructor arguments land here)."""
    extra_body: dict[str, Any] | None = None
    """Extra body fields, merged into every request."""
    default_headers: dict[str, str] | None = None
    """Extra headers on every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """Your own ``httpx.Client`` (proxies, mTLS); you keep closing it. Not pickled."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """Your own ``httpx.AsyncClient`` for the async methods. Not pickled."""
    igris_user: str | None = None
    """Default ``X-Igris-User`` of every call."""
    igris_trace_id: str | None = None
    """Default ``X-Igris-Trace-Id`` of every call."""
    igris_metadata: dict[str, str] | None = None
    """Default ``X-Igris-Metadata-*`` entries of every call (merged key by key)."""
    include_response_headers: bool = False
    """Put the answer's HTTP headers (the gateway's request id among them) in
    ``response_metadata["headers"]`` (of the first chunk, when streaming), as ``ChatOpenAI``."""

    _client_set: ModelClients | None = PrivateAttr(default=None)

    model_config = ConfigDict(protected_namespaces=())

    # --- construction --------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_kwargs(cls, values: Any) -> Any:
        """Accept ``ChatOpenAI``'s spellings (``model_name``, ``request_timeout``,
        ``max_completion_tokens``, ``stop_sequences``); move unknown constructor arguments into
        ``model_kwargs``, with a warning."""
        if not isinstance(values, dict):
            return values
        values = _rename(values, _SPELLINGS)
        known = _field_names(cls)
        unknown = [name for name in values if name not in known]
        extra = values.get("model_kwargs") or {}
        if not unknown and not extra:
            return values
        values = dict(values)
        extra = dict(extra)
        for name in unknown:
            if name in extra:
                raise ValueError(f"{name!r} was given twice (directly and in model_kwargs)")
            warnings.warn(
                f"{name!r} is not a ChatIgris parameter: it was moved to model_kwargs and is "
                "sent in the request body as is. Check that this is what you meant.",
                UserWarning,
                stacklevel=2,
            )
            extra[name] = values.pop(name)
        for name in [name for name in extra if name in known]:
            warnings.warn(
                f"{name!r} should be passed as a ChatIgris argument, not in model_kwargs.",
                UserWarning,
                stacklevel=2,
            )
            values[name] = extra.pop(name)
        values["model_kwargs"] = extra
        return values

    def __init__(self, **kwargs: Any) -> None:
        kwargs = drop_openai_client_arguments(kwargs, _OPENAI_CLIENT_ONLY, "ChatIgris")
        super().__init__(**kwargs)
        parse_model(self.model)  # IgrisInputError showing the expected form (not pydantic's)
        # Checked here rather than in a model validator: pydantic would quote the whole
        # constructor input, API key included, in its error message.
        if self.n is not None and self.n < 1:
            raise IgrisInputError(f"invalid n {self.n!r}: must be at least 1")
        if self.n is not None and self.n > 1 and self.streaming:
            raise IgrisInputError(f"invalid n {self.n!r}: n must be 1 when streaming=True")
        clients_of(self).sync()  # checks the key, base URL, timeout, retries, headers, identity

    def _clients(self) -> ModelClients:
        return clients_of(self)

    def _resolve_model_profile(self) -> ModelProfile | None:
        # LangChain fills ``profile`` from this unless the user gave one; ``igris_core._profiles``
        # is the table shared with llama_index_igris, looked up by the model after the slug.
        return cast(ModelProfile | None, model_profile(self.model))

    def __getstate__(self) -> dict[Any, Any]:
        """Pickle without the clients and the ``httpx`` clients (rebuilt on first use)."""
        return state_without_clients(super().__getstate__())

    def configurable_fields(
        self, **kwargs: AnyConfigurableField
    ) -> RunnableSerializable[LanguageModelInput, AIMessage]:
        """See ``Runnable.configurable_fields``; ``ChatOpenAI``'s spellings (``model_name``,
        ``request_timeout``, ...) name the same fields as at construction."""
        return super().configurable_fields(
            **{_SPELLINGS.get(name, name): field for name, field in kwargs.items()}
        )

    # --- token counting (see langchain_igris._tokens) ------------------------------------------

    def get_token_ids(self, text: str) -> list[int]:
        """The token ids of ``text``: ``custom_get_token_ids`` when set, else tiktoken's for an
        OpenAI model whose encoding is cached locally. Other models have no local tokenizer:
        ``NotImplementedError`` (``get_num_tokens`` still counts, approximately)."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        encoding = encoding_for(self.model)
        if encoding is None:
            raise NotImplementedError(
                f"no local tokenizer for {self.model!r}: get_num_tokens() and "
                "get_num_tokens_from_messages() approximate instead; pass "
                "custom_get_token_ids=... for exact ids"
            )
        return cast(list[int], encoding.encode(text, disallowed_special=()))

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text``: exact with ``custom_get_token_ids`` or a locally cached tiktoken
        encoding (OpenAI models), else about one token per 4 characters. Offline, always."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return count_text(self.model, text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of a request's messages (and tools): exact for OpenAI models when tiktoken's
        encoding is cached locally, else LangChain's ``count_tokens_approximately``. Works
        with ``trim_messages(token_counter=llm)``; never needs ``transformers``."""
        formatted = [convert_to_openai_tool(tool) for tool in tools] if tools else None
        return count_messages(self.model, messages, formatted)

    # --- identification --------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """Same as ``model`` (the ``ChatOpenAI`` spelling)."""
        return self.model

    @property
    def _llm_type(self) -> str:
        return "igris-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secrets and the environment variables they come from."""
        return {"api_key": protocol.ENV_API_KEY}

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["langchain_igris", "chat_models"]``."""
        return ["langchain_igris", "chat_models"]

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """``True``: ``langchain_core.load.dumpd`` serialises it (the key as a secret)."""
        return True

    def _default_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in _SAMPLING_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.stop:
            params["stop"] = self.stop
        if self.extra_body:
            params.update(self.extra_body)
        if self.model_kwargs:
            params.update(self.model_kwargs)
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, **self._default_params()}

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        params = {"model": self.model, **self._default_params(), "_type": "igris-chat"}
        params["stop"] = stop if stop is not None else params.get("stop")
        params.update(kwargs)
        return params

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        # The LLM cache key: LangChain's (model fields and call arguments) plus the identity the
        # call resolves to, so one user's cached answer never reaches another user.
        metadata = run_metadata()
        defaults = Identity.of(self.igris_user, self.igris_trace_id, self.igris_metadata)
        with langchain_errors():
            identity = cache_identity(kwargs, None if metadata is UNSET else metadata, defaults)
        return f"{super()._get_llm_string(stop=stop, **kwargs)}---igris_identity:{identity}"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model")
        params = LangSmithParams(
            ls_provider=LS_PROVIDER,
            ls_model_name=model if isinstance(model, str) else self.model,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        ls_stop = stop or kwargs.get("stop") or self.stop
        if ls_stop:
            params["ls_stop"] = [ls_stop] if isinstance(ls_stop, str) else list(ls_stop)
        return params

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        total: dict[str, int] = {}
        fingerprint = None
        for output in llm_outputs:
            if not output:
                continue
            for key, value in (output.get("token_usage") or {}).items():
                if isinstance(value, int) and not isinstance(value, bool):
                    total[key] = total.get(key, 0) + value
            fingerprint = fingerprint or output.get("system_fingerprint")
        combined: dict[str, Any] = {"token_usage": total, "model_name": self.model}
        if fingerprint:
            combined["system_fingerprint"] = fingerprint
        return combined

    # --- run identity: record the run's metadata for _generate/_stream -----------------------

    def generate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: uuid.UUID | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """See ``BaseChatModel.generate``; also records the run's ``igris_*`` metadata."""
        token = set_run_metadata(metadata)
        try:
            with model_run_scope():
                return super().generate(
                    messages,
                    stop,
                    callbacks,
                    tags=tags,
                    metadata=metadata,
                    run_name=run_name,
                    run_id=run_id,
                    **kwargs,
                )
        finally:
            reset_run_metadata(token)

    async def agenerate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: uuid.UUID | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """See ``BaseChatModel.agenerate``; also records the run's ``igris_*`` metadata."""
        token = set_run_metadata(metadata)
        try:
            with model_run_scope():
                return await super().agenerate(
                    messages,
                    stop,
                    callbacks,
                    tags=tags,
                    metadata=metadata,
                    run_name=run_name,
                    run_id=run_id,
                    **kwargs,
                )
        finally:
            reset_run_metadata(token)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """See ``BaseChatModel.stream``; also records the run's ``igris_*`` metadata.

        The identity of the ``igris_context`` scope is taken when the stream is created, so a
        stream read after (or outside) that block still sends it.
        """
        config = ensure_config(config)
        chunks = super().stream(input, config, stop=stop, **kwargs)
        return in_scope(chunks, config.get("metadata"), current_context())

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """See ``BaseChatModel.astream``; also records the run's ``igris_*`` metadata.

        The identity of the ``igris_context`` scope is taken when the stream is created.
        """
        config = ensure_config(config)
        chunks = super().astream(input, config, stop=stop, **kwargs)
        return ain_scope(chunks, config.get("metadata"), current_context())

    # --- requests ------------------------------------------------------------------------------

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
        *,
        stream: bool,
    ) -> _Request:
        metadata = run_metadata()
        if metadata is UNSET:
            metadata = run_manager.metadata if run_manager is not None else None
        identity = call_identity(kwargs, metadata)
        run_id = run_manager.run_id if run_manager is not None else current_model_run()
        fields = self._default_params()
        if kwargs:
            fields.update(kwargs)
        model = fields.pop("model", None) or self.model
        fields.pop("stream", None)
        extra_headers = fields.pop("extra_headers", None)
        extra_body = fields.pop("extra_body", None)
        if extra_body:
            fields.update(extra_body)
        if stop:
            fields["stop"] = stop
        response_format = fields.get("response_format")
        if response_format is not None and not isinstance(response_format, Mapping):
            fields["response_format"] = response_format_to_wire(response_format)
        if stream and (fields.get("n") or 1) > 1:
            raise IgrisInputError(f"invalid n {fields['n']!r}: n must be 1 when streaming")
        wire = messages_to_wire(messages)
        return model, wire, fields, identity, extra_headers, run_trace_id(run_id)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str] | None:
        """The answer's headers when ``include_response_headers`` asks for them."""
        return headers if self.include_response_headers else None

    def _stream_options(self, stream_usage: bool | None, fields: dict[str, Any]) -> None:
        options = fields.get("stream_options")
        if stream_usage is None:
            if isinstance(options, Mapping) and "include_usage" in options:
                return
            stream_usage = self.stream_usage
        fields["stream_options"] = {**(options or {}), "include_usage": bool(stream_usage)}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        kwargs.pop("stream_usage", None)
        with langchain_errors():
            model, wire, fields, identity, headers, trace = self._prepare(
                messages, stop, kwargs, run_manager, stream=False
            )
            with run_trace_scope(trace):
                response = (
                    self._clients()
                    .sync()
                    .chat.completions.create(
                        model=model,
                        messages=wire,
                        identity=identity,
                        extra_headers=headers,
                        **fields,
                    )
                )
        return chat_result(response, model, self._headers(response.igris_headers))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        kwargs.pop("stream_usage", None)
        with langchain_errors():
            model, wire, fields, identity, headers, trace = self._prepare(
                messages, stop, kwargs, run_manager, stream=False
            )
            with run_trace_scope(trace):
                response = (
                    await self._clients()
                    .async_()
                    .chat.completions.create(
                        model=model,
                        messages=wire,
                        identity=identity,
                        extra_headers=headers,
                        **fields,
                    )
                )
        return chat_result(response, model, self._headers(response.igris_headers))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with langchain_errors():
            model, wire, fields, identity, headers, trace = self._prepare(
                messages, stop, kwargs, run_manager, stream=True
            )
            self._stream_options(stream_usage, fields)
            client = self._clients().sync()
            convert = StreamConverter.convert
            with run_trace_scope(trace):
                stream = client.chat.completions.create(
                    model=model,
                    messages=wire,
                    stream=True,
                    identity=identity,
                    extra_headers=headers,
                    **fields,
                )
            answer_headers = self._headers(dict(stream.response.headers))
            with stream:
                for chunk in stream:
                    generation = convert(chunk)
                    if generation is None:
                        continue
                    if answer_headers is not None:
                        generation.message.response_metadata["headers"] = answer_headers
                        answer_headers = None
                    if run_manager is not None:
                        run_manager.on_llm_new_token(
                            generation.text,
                            chunk=generation,
                            logprobs=(generation.generation_info or {}).get("logprobs"),
                        )
                    yield generation
                final = StreamConverter(model).final(stream.accumulator, stream.request_id)
                if answer_headers is not None:  # no chunk before the last one
                    final.message.response_metadata["headers"] = answer_headers
            if run_manager is not None:
                run_manager.on_llm_new_token("", chunk=final)
            yield final

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        with langchain_errors():
            model, wire, fields, identity, headers, trace = self._prepare(
                messages, stop, kwargs, run_manager, stream=True
            )
            self._stream_options(stream_usage, fields)
            client = self._clients().async_()
            convert = StreamConverter.convert
            with run_trace_scope(trace):
                stream = await client.chat.completions.create(
                    model=model,
                    messages=wire,
                    stream=True,
                    identity=identity,
                    extra_headers=headers,
                    **fields,
                )
            answer_headers = self._headers(dict(stream.response.headers))
            async with stream:
                async for chunk in stream:
                    generation = convert(chunk)
                    if generation is None:
                        continue
                    if answer_headers is not None:
                        generation.message.response_metadata["headers"] = answer_headers
                        answer_headers = None
                    if run_manager is not None:
                        await run_manager.on_llm_new_token(
                            generation.text,
                            chunk=generation,
                            logprobs=(generation.generation_info or {}).get("logprobs"),
                        )
                    yield generation
                final = StreamConverter(model).final(stream.accumulator, stream.request_id)
                if answer_headers is not None:  # no chunk before the last one
                    final.message.response_metadata["headers"] = answer_headers
            if run_manager is not None:
                await run_manager.on_llm_new_token("", chunk=final)
            yield final

    # --- tools and structured output -----------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: dict[str, Any] | type | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything ``convert_to_openai_tool`` takes) to the model.

        Args:
            tools: Tool definitions: pydantic classes, TypedDicts, functions, ``BaseTool``
                objects or OpenAI tool dicts. Converted once, here.
            tool_choice: ``"auto"``, ``"none"``, ``"required"``/``"any"`` (call some tool),
                a tool's name (call that tool), ``True`` (the single tool; ``"required"`` with
                several), or an OpenAI ``tool_choice`` dict. An unknown name raises
                ``IgrisInputError`` before any request.
            strict: Ask for arguments that match each tool's schema exactly.
            parallel_tool_calls: ``False`` to allow at most one tool call per answer.
            response_format: A schema for the final answer when no tool is called.
            kwargs: Passed to ``bind``.

        Example:
            .. code-block:: python

                llm.bind_tools([get_weather], tool_choice="get_weather").invoke("Paris?")
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        choice = tool_choice_to_wire(tool_choice, tool_names(formatted))
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        if response_format is not None:
            kwargs["response_format"] = response_format_to_wire(response_format, strict)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """A runnable whose output follows ``schema``.

        Args:
            schema: A pydantic class (output: an instance of it), a TypedDict or a JSON schema
                dict (output: a dict). Optional with ``method="json_mode"``.
            method: ``"function_calling"`` (a forced tool call), ``"json_schema"`` (the
                provider's structured outputs) or ``"json_mode"`` (any JSON object; say in the
                prompt what it must hold).
            include_raw: Return ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}``
                instead of raising on a parsing error.
            strict: Ask for output that matches the schema exactly (not with json_mode).
            kwargs: Passed to ``bind``.

        Example:
            .. code-block:: python

                llm.with_structured_output(Person, method="json_schema").invoke("...")
        """
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        llm: Runnable[LanguageModelInput, Any]
        if method == "json_mode":
            if strict is not None:
                raise ValueError("strict is not supported with method='json_mode'")
            llm = self.bind(
                response_format={"type": "json_object"},
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
                **kwargs,
            )
        elif method in ("function_calling", "json_schema"):
            if schema is None:
                raise ValueError(f"schema is required with method={method!r}")
            if method == "function_calling":
                tool_name = convert_to_openai_tool(schema)["function"]["name"]
                llm = self.bind_tools(
                    [schema],
                    tool_choice=tool_name,
                    parallel_tool_calls=False,
                    strict=strict,
                    ls_structured_output_format={
                        "kwargs": {"method": method, "strict": strict},
                        "schema": schema,
                    },
                    **kwargs,
                )
            else:
                llm = self.bind(
                    response_format=response_format_to_wire(schema, strict),
                    ls_structured_output_format={
                        "kwargs": {"method": method, "strict": strict},
                        "schema": convert_to_openai_tool(schema),
                    },
                    **kwargs,
                )
        else:
            raise ValueError(
                f"invalid method {method!r}: expected 'function_calling', 'json_schema' or "
                "'json_mode'"
            )
        parser: Runnable[Any, Any]
        if method == "function_calling":
            parser = (
                PydanticToolsParser(tools=[cast(Any, schema)], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
            )
        elif method == "json_schema" and strict:
            parser = _strict_parser(schema, is_pydantic)
        elif is_pydantic:
            parser = PydanticOutputParser(pydantic_object=cast(Any, schema))
        else:
            parser = JsonOutputParser()
        checked = RunnableGenerator(_check_answer, _acheck_answer) | parser
        if not include_raw:
            return llm | checked
        with_parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | checked, parsing_error=lambda _: None
        )
        without = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | with_parsed.with_fallbacks(
            [without], exception_key="parsing_error"
        )


_FIELD_NAMES: dict[type, set[str]] = {}


def _field_names(cls: type) -> set[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = get_pydantic_field_names(cls)
    return names
