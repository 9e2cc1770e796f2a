"""Building request bodies and headers, and parsing answers, for every route.

Shared by the sync and async clients so both behave identically; no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError

from igris_core import protocol
from igris_core._answer import Answer, decode_error
from igris_core._codec import b64_to_floats
from igris_core._config import ClientOptions, check_headers
from igris_core._errors import IgrisInputError, IgrisInputTypeError
from igris_core._identity import Identity, current_context, identity_headers, resolve_identity
from igris_core._model_ref import parse_model
from igris_core._tracing import trace_headers
from igris_core._transport import PreparedRequest
from igris_core.types._base import GatewayResponse
from igris_core.types._chat import ChatCompletionResponse
from igris_core.types._embeddings import EmbeddingResponse
from igris_core.types._providers import LlmProviderInfo

__all__ = [
    "embedding_count",
    "parse_chat",
    "parse_embeddings",
    "parse_providers",
    "prepare_chat",
    "prepare_embeddings",
    "prepare_providers",
    "request_headers",
]

_JSON = {"Content-Type": "application/json"}
_SSE = {"Content-Type": "application/json", "Accept": protocol.SSE_CONTENT_TYPE}
_providers_adapter = TypeAdapter(list[LlmProviderInfo])


def request_headers(
    options: ClientOptions,
    identity: Identity | None,
    body_user: object = None,
    extra: Mapping[str, str] | None = None,
    content_headers: Mapping[str, str] = _JSON,
) -> dict[str, str]:
    """Headers of one request: the client's, the resolved identity's, the tracing headers
    (an automatic trace id when no layer sets one, ``traceparent``), then ``extra``."""
    context = current_context()
    headers = dict(options.static_headers)
    headers.update(content_headers)
    if identity is None and context is None:
        resolved = options.identity  # the common case: nothing per call, no scope
    else:
        resolved = resolve_identity(identity, context, options.identity)
    if not resolved.is_empty or body_user is not None:
        headers.update(identity_headers(resolved, body_user))
    tracing = trace_headers(resolved.trace_id is not None)
    if tracing is not None:
        headers.update(tracing)
    if extra:
        headers.update(check_headers(extra, "extra_headers"))
    return headers


def _message(value: object, position: int) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    if not isinstance(value, Mapping):
        raise IgrisInputTypeError(
            f"invalid message at position {position}: {value!r} ({type(value).__name__}); "
            "expected a dict such as {'role': 'user', 'content': 'Hello'}"
        )
    role = value.get("role")
    if not isinstance(role, str) or not role:
        raise IgrisInputError(
            f"invalid message at position {position}: {value!r} has no 'role'; expected a dict "
            "such as {'role': 'user', 'content': 'Hello'}"
        )
    return value


def _messages(messages: object) -> list[object]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Iterable):
        raise IgrisInputTypeError(
            f"invalid messages {messages!r}: expected a list of message dicts, e.g. "
            "[{'role': 'user', 'content': 'Hello'}]"
        )
    checked = [_message(m, i) for i, m in enumerate(messages)]
    if not checked:
        raise IgrisInputError("invalid messages []: at least one message is required")
    return checked


def _dump(body: dict[str, Any]) -> bytes:
    try:
        return pydantic_core.to_json(body)
    except pydantic_core.PydanticSerializationError as exc:
        raise IgrisInputTypeError(f"request body is not JSON-serialisable: {exc}") from None


def prepare_chat(
    options: ClientOptions,
    model: object,
    messages: object,
    stream: bool,
    fields: Mapping[str, Any],
    identity: Identity | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """A chat-completions request: ``model`` parsed, ``stream_options.include_usage`` added."""
    ref = parse_model(model)
    body: dict[str, Any] = {"model": ref.model, "messages": _messages(messages)}
    for key, value in fields.items():
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
        stream_options = body.get("stream_options")
        if stream_options is None:
            body["stream_options"] = {"include_usage": True}
        elif isinstance(stream_options, Mapping) and "include_usage" not in stream_options:
            body["stream_options"] = {**stream_options, "include_usage": True}
    headers = request_headers(
        options, identity, body.get("user"), extra_headers, _SSE if stream else _JSON
    )
    return PreparedRequest("POST", protocol.chat_completions_path(ref.slug), headers, _dump(body))


def _embedding_input(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        if not value:
            raise IgrisInputError("invalid input []: at least one text is required")
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int) for v in value) or all(
            isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value
        ):
            return list(value)  # token ids
    raise IgrisInputTypeError(
        f"invalid input {value!r:.200}: expected a str or a list of str (or token-id lists)"
    )


def prepare_embeddings(
    options: ClientOptions,
    model: object,
    input: object,  # the wire field's name
    encoding_format: str | None,
    dimensions: int | None,
    user: str | None,
    fields: Mapping[str, Any],
    identity: Identity | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """An embeddings request; base64 on the wire unless the caller chose an encoding."""
    ref = parse_model(model)
    if encoding_format not in (None, "float", "base64"):
        raise IgrisInputError(
            f"invalid encoding_format {encoding_format!r}: expected 'float', 'base64' or None"
        )
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions <= 0
    ):
        raise IgrisInputError(f"invalid dimensions {dimensions!r}: expected a positive int")
    body: dict[str, Any] = {
        "model": ref.model,
        "input": _embedding_input(input),
        "encoding_format": encoding_format or "base64",
    }
    if dimensions is not None:
        body["dimensions"] = dimensions
    if user is not None:
        body["user"] = user
    for key, value in fields.items():
        if value is not None:
            body[key] = value
    headers = request_headers(options, identity, user, extra_headers)
    return PreparedRequest("POST", protocol.embeddings_path(ref.slug), headers, _dump(body))


def prepare_providers(
    options: ClientOptions, extra_headers: Mapping[str, str] | None = None
) -> PreparedRequest:
    """The provider-list request."""
    headers = request_headers(options, None, None, extra_headers, {})
    return PreparedRequest("GET", protocol.PROVIDERS_PATH, headers)


def _problems(exc: ValidationError | ValueError) -> str:
    """What the parser found wrong, without the input it quotes (which may hold an echoed
    key): location and message of the first few problems."""
    if not isinstance(exc, ValidationError):
        return "not JSON"
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def _parse(model: type[GatewayResponse], answer: Answer, what: str) -> Any:
    try:
        parsed = model.model_validate_json(answer.content)
    except (ValidationError, ValueError) as exc:
        # Never chained: the parser's error quotes the body (pydantic's input_value=...).
        raise decode_error(answer, what, _problems(exc)) from None
    parsed._igris_request_id = answer.request_id
    parsed._igris_headers = dict(answer.headers)
    return parsed


def parse_chat(answer: Answer) -> ChatCompletionResponse:
    """Parse a chat-completion answer; one without any choice is a decode error."""
    result: ChatCompletionResponse = _parse(ChatCompletionResponse, answer, "chat completion")
    if not result.choices:
        raise decode_error(answer, "chat completion", "no choice in the answer")
    return result


def embedding_count(input: object) -> int:  # the wire field's name
    """How many vectors an embeddings request asks for: one per text (or token-id list)."""
    if isinstance(input, str):
        return 1
    if isinstance(input, list | tuple) and input and not isinstance(input[0], int):
        return len(input)
    return 1  # one text given as token ids


def parse_embeddings(answer: Answer, caller_format: str | None, count: int) -> EmbeddingResponse:
    """Parse an embeddings answer for ``count`` inputs; base64 vectors become floats unless the
    caller asked for base64 itself (a float answer to a base64 request is accepted too). The
    indices must be exactly the inputs' (``0 .. count - 1``, each once); ``data`` comes back
    in input order."""
    result: EmbeddingResponse = _parse(EmbeddingResponse, answer, "embeddings")
    indices = sorted(item.index for item in result.data)
    if indices != list(range(count)):
        shown = indices if len(indices) <= 10 else [*indices[:10], "..."]
        raise decode_error(
            answer,
            "embeddings",
            f"{count} input(s) but vectors at indices {shown}: expected each of 0..{count - 1} "
            "once",
        )
    if caller_format != "base64":
        try:
            for item in result.data:
                if isinstance(item.embedding, str):
                    item.embedding = b64_to_floats(item.embedding)
        except ValueError:
            raise decode_error(answer, "embeddings", "a vector is not valid base64") from None
    if any(item.index != position for position, item in enumerate(result.data)):
        result.data.sort(key=lambda item: item.index)
    return result


def parse_providers(answer: Answer) -> list[LlmProviderInfo]:
    """Parse the provider list."""
    try:
        return _providers_adapter.validate_json(answer.content)
    except (ValidationError, ValueError) as exc:
        raise decode_error(answer, "provider list", _problems(exc)) from None
