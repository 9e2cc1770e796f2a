"""``IgrisLLM``: a LlamaIndex ``FunctionCallingLLM`` that talks to models through the Igris
gateway. All I/O goes through :class:`igris_core.Igris` / :class:`igris_core.AsyncIgris`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.constants import DEFAULT_TEMPERATURE
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.types import PydanticProgramMode
from pydantic import Field, PrivateAttr, SecretStr

from igris_core import IgrisInputError, IgrisInputTypeError, parse_model, protocol
from igris_core._pool import ModelClients
from igris_core._tracing import run_trace_scope
from llama_index_igris._convert import (
    ChatStreamConverter,
    chat_response,
    force_single_tool_call,
    resolve_tool_choice,
    to_wire_messages,
    to_wire_tools,
    tool_selections,
)
from llama_index_igris._identity import pop_call_identity
from llama_index_igris._keywords import refuse_unknown_keywords
from llama_index_igris._metadata import model_metadata
from llama_index_igris._owner import CLIENT_ARGUMENTS, ClientOwner, ModelName
from llama_index_igris._spans import root_span_id
from llama_index_igris._stream_scope import install_stream_scope

if TYPE_CHECKING:
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.prompts import PromptTemplate
    from llama_index.core.tools.types import BaseTool
    from pydantic import BaseModel

__all__ = ["IgrisLLM"]

_F = TypeVar("_F", bound=Callable[..., Any])
_Model = TypeVar("_Model", bound="BaseModel")


def _call_model(default: str, model: object) -> str:
    """The model of one call, as OpenAILike takes ``model=``: ``@slug/model`` as given (another
    connection), a bare model name on the connection of ``default``, ``None`` for ``default``."""
    if model is None:
        return default
    if isinstance(model, str) and not model.startswith("@"):
        composed = f"@{parse_model(default).slug}/{model}"
        if not model or protocol.MODEL_REF_RE.fullmatch(composed) is None:
            raise IgrisInputError(
                f"invalid model {model!r}: expected a model name without whitespace (on this "
                f"LLM's connection) or {protocol.MODEL_REF_FORM} (another connection)"
            )
        return composed
    return str(parse_model(model))


def _chat_callback(fn: _F) -> _F:
    """``llm_chat_callback`` with its type kept (events, spans and callbacks as built-ins)."""
    return cast(_F, llm_chat_callback()(fn))


def _completion_callback(fn: _F) -> _F:
    """``llm_completion_callback`` with its type kept."""
    return cast(_F, llm_completion_callback()(fn))


class IgrisLLM(ClientOwner, FunctionCallingLLM):
    """A chat model behind the Igris gateway, for every LlamaIndex index, query engine, chat
    engine and agent. It behaves like ``llama-index-llms-openai`` (chat, completion, streaming,
    tool calling, structured outputs, images, token usage), with the gateway's identity headers
    and typed errors (``igris_core.Igris*Error``, raised unchanged).

    Args:
        model: ``"@<connection-slug>/<model>"``, e.g. ``"@openai-prod/gpt-4o"``.
        api_key: the Igris key; ``IGRIS_API_KEY`` when not given. Never shown or serialised.
        base_url: the gateway; ``IGRIS_BASE_URL``, else the hosted gateway.
        temperature, max_tokens: sampling settings sent with every call (``None`` omits them).
        timeout, max_retries: per request; retries (408, 429, 5xx, no answer) are the core's.
        additional_kwargs: more request fields sent with every call (``top_p``, ``seed``, ...).
        context_window, is_function_calling_model: what ``metadata`` reports; by default the
            model's profile (:func:`igris_core._profiles.model_profile`, looked up by the name
            after ``@slug/``), else LlamaIndex's conservative ``3900`` tokens and no tools.
        strict: send tools with ``strict: true`` (OpenAI structured outputs).
        igris_user, igris_trace_id, igris_metadata: the default identity of every call; a call's
            own ``igris_*`` keyword arguments and ``igris_context(...)`` take precedence.
        http_client, async_http_client: your own ``httpx.Client`` / ``httpx.AsyncClient``
            (proxies, mTLS, tests), named as OpenAILike names them; the async one may serve one
            ``asyncio.run`` after another. Any other keyword that is not a LlamaIndex ``LLM``
            field is refused with an ``IgrisInputTypeError`` naming the one it probably meant.

    Example::

        from llama_index.core import Settings
        from llama_index_igris import IgrisLLM

        Settings.llm = IgrisLLM(model="@openai-prod/gpt-4o", igris_user="alice@corp.com")
        answer = Settings.llm.complete("What is the capital of France?")
        for part in Settings.llm.stream_complete("Tell me a story", igris_trace_id="run-7"):
            print(part.delta, end="")
    """

    model: ModelName = Field(description="The model, as '@<connection-slug>/<model>'.")
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="The Igris API key (IGRIS_API_KEY when not given); never serialised.",
    )
    base_url: str | None = Field(
        default=None, description="The gateway's base URL (IGRIS_BASE_URL when not given)."
    )
    temperature: float | None = Field(
        default=DEFAULT_TEMPERATURE,
        ge=0.0,
        le=2.0,
        description="The sampling temperature (None leaves it to the provider).",
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="The maximum number of tokens to generate."
    )
    timeout: float | None = Field(
        default=protocol.DEFAULT_TIMEOUT,
        description="Seconds per request (None waits forever).",
    )
    max_retries: int = Field(
        default=protocol.DEFAULT_MAX_RETRIES,
        ge=0,
        description="Retries of failed requests (408, 429, 5xx, no answer); 0 turns them off.",
    )
    max_response_bytes: int = Field(
        default=protocol.DEFAULT_MAX_RESPONSE_BYTES,
        description="The largest answer accepted, after decompression.",
    )
    max_event_bytes: int = Field(
        default=protocol.DEFAULT_MAX_EVENT_BYTES, description="The largest stream line or event."
    )
    stream_timeout: float | None = Field(
        default=None, description="An optional limit, in seconds, on the whole of a stream."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="More request fields sent with every call."
    )
    context_window: int | None = Field(
        default=None,
        gt=0,
        description="The model's context window (None: from its profile, else 3900).",
    )
    is_function_calling_model: bool | None = Field(
        default=None,
        description="Whether the model takes tools (None: from its profile, else False).",
    )
    strict: bool = Field(
        default=False, description="Send tools with strict: true (OpenAI structured outputs)."
    )
    logprobs: bool | None = Field(default=None, description="Ask for token log probabilities.")
    top_logprobs: int = Field(
        default=0, ge=0, le=20, description="How many alternatives per token with logprobs."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra headers on every request."
    )
    igris_user: str | None = Field(default=None, description="Default X-Igris-User of every call.")
    igris_trace_id: str | None = Field(
        default=None, description="Default X-Igris-Trace-Id of every call."
    )
    igris_metadata: dict[str, str] | None = Field(
        default=None, description="Default X-Igris-Metadata-* of every call."
    )

    _client_set: ModelClients | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        temperature: float | None = DEFAULT_TEMPERATURE,
        max_tokens: int | None = None,
        timeout: float | None = protocol.DEFAULT_TIMEOUT,
        max_retries: int = protocol.DEFAULT_MAX_RETRIES,
        additional_kwargs: dict[str, Any] | None = None,
        context_window: int | None = None,
        is_function_calling_model: bool | None = None,
        strict: bool = False,
        logprobs: bool | None = None,
        top_logprobs: int = 0,
        default_headers: dict[str, str] | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        parse_model(model)  # a bad model string fails here, with the expected form
        refuse_unknown_keywords("IgrisLLM", kwargs, [*type(self).model_fields, *CLIENT_ARGUMENTS])
        super().__init__(
            model=model,
            api_key=api_key,
            base_url=base_url,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=timeout,
            max_retries=max_retries,
            additional_kwargs=additional_kwargs or {},
            context_window=context_window,
            is_function_calling_model=is_function_calling_model,
            strict=strict,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            default_headers=default_headers,
            igris_user=igris_user,
            igris_trace_id=igris_trace_id,
            igris_metadata=igris_metadata,
            **kwargs,
        )
        self._set_clients(http_client, async_http_client)
        install_stream_scope()  # streaming query engines read their stream after the call

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "IgrisLLM"

    # --- metadata ------------------------------------------------------------------------

    @property
    def metadata(self) -> LLMMetadata:
        """What LlamaIndex knows of the model: the fields given, else the model's profile."""
        return model_metadata(
            self.model,
            context_window=self.context_window,
            max_tokens=self.max_tokens,
            is_function_calling_model=self.is_function_calling_model,
        )

    # --- request building ----------------------------------------------------------------

    def _fields(self, kwargs: dict[str, Any], stream: bool) -> dict[str, Any]:
        """The request's body fields: the instance's settings, then the call's."""
        fields: dict[str, Any] = {"temperature": self.temperature}
        if self.max_tokens is not None:
            fields["max_tokens"] = self.max_tokens
        if self.logprobs:
            fields["logprobs"] = True
            fields["top_logprobs"] = self.top_logprobs
        if self.additional_kwargs:
            fields.update(self.additional_kwargs)
        if kwargs:
            fields.update(kwargs)
        fields.pop("stream", None)  # the method decides
        if not stream and "stream_options" in fields:
            del fields["stream_options"]  # only valid with stream: true
        return fields

    # --- sync ----------------------------------------------------------------------------

    def _request(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], stream: bool
    ) -> dict[str, Any]:
        """The ``chat.completions.create`` arguments of one call (without ``stream``)."""
        identity = pop_call_identity(kwargs, capture_context=stream)
        extra_headers = kwargs.pop("extra_headers", None)
        model = _call_model(self.model, kwargs.pop("model", None))
        request = self._fields(kwargs, stream)
        request["model"] = model
        request["messages"] = to_wire_messages(messages)
        request["identity"] = identity
        request["extra_headers"] = extra_headers
        return request

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request = self._request(messages, kwargs, False)
        with run_trace_scope(root_span_id()):
            return chat_response(self._sync_client().chat.completions.create(**request))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        # The request is sent when the generator is first read (as llama-index-llms-openai
        # does); the igris_context scope of this call is captured now.
        request = self._request(messages, kwargs, True)
        trace = root_span_id()

        def gen() -> ChatResponseGen:
            with run_trace_scope(trace):
                stream = self._sync_client().chat.completions.create(stream=True, **request)
            converter = ChatStreamConverter(stream.accumulator, stream.request_id)
            feed = converter.feed
            try:
                for chunk in stream:
                    response = feed(chunk)
                    if response is not None:
                        yield response
            finally:
                stream.close()
            if not converter.sent:
                yield converter.empty()

        return gen()

    @_chat_callback
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send a conversation; the answer's ``raw`` is the wire answer and its
        ``additional_kwargs`` hold token usage and the gateway's ``igris_request_id``.

        ``igris_user`` / ``igris_trace_id`` / ``igris_metadata`` set this call's identity;
        ``model`` another model for this call (a bare name on this LLM's connection, or
        ``@slug/model``); any other keyword argument is a request field (``tools``, ...).
        """
        return self._chat(messages, **kwargs)

    @_chat_callback
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the answer: each ``ChatResponse`` has the text so far and the new ``delta``;
        tool calls so far are ``ToolCallBlock``s; the last one carries token usage."""
        return self._stream_chat(messages, **kwargs)

    @_completion_callback
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete a prompt (sent as one user message)."""
        prompt = self._prompt(prompt, formatted)
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @_completion_callback
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream the completion of a prompt."""
        prompt = self._prompt(prompt, formatted)
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    def _prompt(self, prompt: object, formatted: bool) -> str:
        if not isinstance(prompt, str):
            raise IgrisInputTypeError(
                f"invalid prompt {prompt!r} ({type(prompt).__name__}): expected a str"
            )
        to_prompt = self.completion_to_prompt
        return to_prompt(prompt) if to_prompt is not None and not formatted else prompt

    # --- async ---------------------------------------------------------------------------

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request = self._request(messages, kwargs, False)
        with run_trace_scope(root_span_id()):
            return chat_response(await self._async_client().chat.completions.create(**request))

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        request = self._request(messages, kwargs, True)
        trace = root_span_id()

        async def gen() -> ChatResponseAsyncGen:
            with run_trace_scope(trace):
                stream = await self._async_client().chat.completions.create(stream=True, **request)
            converter = ChatStreamConverter(stream.accumulator, stream.request_id)
            feed = converter.feed
            try:
                async for chunk in stream:
                    response = feed(chunk)
                    if response is not None:
                        yield response
            finally:
                await stream.aclose()
            if not converter.sent:
                yield converter.empty()

        return gen()

    @_chat_callback
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async form of :meth:`chat`."""
        return await self._achat(messages, **kwargs)

    @_chat_callback
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async form of :meth:`stream_chat`."""
        return await self._astream_chat(messages, **kwargs)

    @_completion_callback
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async form of :meth:`complete`."""
        prompt = self._prompt(prompt, formatted)
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @_completion_callback
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async form of :meth:`stream_complete`."""
        prompt = self._prompt(prompt, formatted)
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # --- tools ---------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments of a tool-calling turn: OpenAI ``tools`` (through each tool's
        ``to_openai_tool``), ``tool_choice`` (``"required"`` with ``tool_required``, or a tool
        name), ``parallel_tool_calls``."""
        specs = to_wire_tools(tools, self.strict if strict is None else strict)
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["tool_choice"] = resolve_tool_choice(tool_choice, tool_required)
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep one tool call unless parallel tool calls are allowed."""
        if not allow_parallel_tool_calls:
            force_single_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The tool calls of an answer (streamed or not) as ``ToolSelection``s; ``ValueError``
        when there are none and ``error_on_no_tool_call``."""
        return tool_selections(response, error_on_no_tool_call)

    # --- structured outputs --------------------------------------------------------------

    def _forces_tool_for_structure(self) -> bool:
        mode = self.pydantic_program_mode
        return mode == PydanticProgramMode.FUNCTION or (
            mode == PydanticProgramMode.DEFAULT and self.metadata.is_function_calling_model
        )

    def _structured_stream_call(
        self,
        output_cls: type[_Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[_Model | list[_Model] | FlexibleModel | list[FlexibleModel], None, None]:
        # LlamaIndex's streaming function-calling program does not pass tool_required on; a
        # model left to choose may answer in prose, so the tool call is forced here (as
        # structured_predict does).
        if not self._forces_tool_for_structure():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        from llama_index.core.program.function_program import FunctionCallingProgram

        program = FunctionCallingProgram.from_defaults(
            output_cls=output_cls, llm=self, prompt=prompt, tool_choice="required"
        )
        return cast(
            Generator[_Model | list[_Model] | "FlexibleModel" | list["FlexibleModel"], None, None],
            program.stream_call(llm_kwargs=llm_kwargs, **prompt_args),
        )

    async def _structured_astream_call(
        self,
        output_cls: type[_Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[_Model | list[_Model] | FlexibleModel | list[FlexibleModel], None]:
        if not self._forces_tool_for_structure():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        from llama_index.core.program.function_program import FunctionCallingProgram

        program = FunctionCallingProgram.from_defaults(
            output_cls=output_cls, llm=self, prompt=prompt, tool_choice="required"
        )
        return cast(
            AsyncGenerator[_Model | list[_Model] | "FlexibleModel" | list["FlexibleModel"], None],
            await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args),
        )
