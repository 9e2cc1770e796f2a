"""Read OpenAI-shaped request bodies (chat completions, embeddings) with the wire types.

Shape errors answer 422 and name the field; a request that is well-formed but contradicts itself
(a forced tool that is not offered) answers 400, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from igris_core.local_gateway._chat.conversation import (
    Conversation,
    Message,
    ResponseFormat,
    ToolSpec,
)
from igris_core.local_gateway._wire.errors import GatewayError
from igris_core.types import ChatCompletionRequest, ChatMessage, EmbeddingRequest

__all__ = ["embedding_inputs", "parse_chat_request", "validation_error"]

_MAX_N = 128


def validation_error(exc: pydantic.ValidationError) -> GatewayError:
    """A 422 listing the first few field errors in plain words."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return GatewayError(422, "invalid request: " + "; ".join(parts))


def _invalid(message: str) -> GatewayError:
    return GatewayError(422, f"invalid request: {message}")


def _message_text(message: ChatMessage) -> str:
    content = message.content
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "\n".join(
            str(part["text"])
            for part in content
            if part.get("type") in ("text", "input_text") and isinstance(part.get("text"), str)
        )
    else:
        text = ""
    for call in message.tool_calls or []:
        text += f"\n{call.function.name} {call.function.arguments}"
    return text


def _check_parts(index: int, message: ChatMessage) -> None:
    if isinstance(message.content, list):
        for k, part in enumerate(message.content):
            if not isinstance(part.get("type"), str):
                raise _invalid(
                    f"messages.{index}.content.{k}: a content part needs a string 'type'"
                )
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                raise _invalid(f"messages.{index}.content.{k}.text: expected a string")


def _tools(raw: list[Any] | None) -> tuple[ToolSpec, ...]:
    specs = []
    for i, tool in enumerate(raw or []):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise _invalid(
                f"tools.{i}: expected {{'type': 'function', 'function': {{'name': ...}}}}"
            )
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, Mapping):
            raise _invalid(f"tools.{i}.function.parameters: expected a JSON schema object")
        description = function.get("description")
        specs.append(
            ToolSpec(
                function["name"], parameters, description if isinstance(description, str) else ""
            )
        )
    return tuple(specs)


def _forced_tool(choice: Any, tools: tuple[ToolSpec, ...]) -> str | None:
    if choice is None or choice in ("auto", "none"):
        return None
    if choice == "required":
        if not tools:
            raise GatewayError(400, "tool_choice 'required' needs at least one tool in tools")
        return tools[0].name
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str):
            raise _invalid("tool_choice: expected {'type': 'function', 'function': {'name': ...}}")
        if not any(t.name == name for t in tools):
            raise GatewayError(400, f"tool_choice names the tool {name!r}, which is not in tools")
        return name
    raise _invalid("tool_choice: expected 'none', 'auto', 'required' or a named function")


def _response_format(raw: Any) -> ResponseFormat | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        spec = raw.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise _invalid("response_format.json_schema.schema: expected a JSON schema object")
        return ResponseFormat("json_schema", schema)
    raise _invalid("response_format.type: expected 'text', 'json_object' or 'json_schema'")


def _optional_int(
    body: Mapping[str, Any], name: str, low: int, high: int | None = None
) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _invalid(f"{name}: expected an integer >= {low}")
    if high is not None and value > high:
        raise _invalid(f"{name}: at most {high}")
    return value


def _optional_number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _invalid(f"{name}: expected a number from {low:g} to {high:g}")
    return float(value)


def _seed(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("seed: expected an integer")
    return value


def parse_chat_request(body: Mapping[str, Any]) -> Conversation:
    """Check a chat-completions body and reduce it to a Conversation."""
    try:
        request = ChatCompletionRequest.model_validate(body, strict=True)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    if not request.messages:
        raise _invalid("messages: at least one message is required")
    for i, message in enumerate(request.messages):
        _check_parts(i, message)
    max_tokens = _optional_int(body, "max_completion_tokens", 0)
    if max_tokens is None:
        max_tokens = _optional_int(body, "max_tokens", 0)
    n = _optional_int(body, "n", 1, _MAX_N) or 1
    options = body.get("stream_options")
    if options is not None and not (
        isinstance(options, Mapping) and isinstance(options.get("include_usage", False), bool)
    ):
        raise _invalid("stream_options: expected {'include_usage': bool}")
    stop = request.stop
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    tools = _tools(request.tools)
    return Conversation(
        model=request.model,
        messages=tuple(Message(m.role, _message_text(m)) for m in request.messages),
        tools=tools,
        forced_tool=_forced_tool(request.tool_choice, tools),
        response_format=_response_format(request.response_format),
        max_tokens=max_tokens,
        stop=stops,
        n=n,
        stream=bool(request.stream),
        include_usage=bool(options and options.get("include_usage")),
        temperature=_optional_number(body, "temperature", 0, 2),
        top_p=_optional_number(body, "top_p", 0, 1),
        seed=_seed(body.get("seed")),
    )


def embedding_inputs(
    body: Mapping[str, Any], max_inputs: int
) -> tuple[EmbeddingRequest, list[str]]:
    """Check an embeddings body; return it with its inputs as texts.

    Token-id inputs (lists of integers, which some SDKs send after tokenizing) become texts of
    ``#<id>`` words, so equal token sequences still embed equally. More than ``max_inputs``
    inputs answer 400.
    """
    try:
        request = EmbeddingRequest.model_validate(body, strict=True)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    raw = request.input
    if isinstance(raw, str):
        texts = [raw]
    elif not raw:
        raise _invalid("input: an empty list has nothing to embed")
    elif all(isinstance(x, str) for x in raw):
        texts = [str(x) for x in raw]
    elif all(isinstance(x, int) for x in raw):
        texts = [" ".join(f"#{x}" for x in raw)]
    else:
        texts = [" ".join(f"#{t}" for t in tokens) for tokens in raw if isinstance(tokens, list)]
    if len(texts) > max_inputs:
        raise GatewayError(
            400,
            f"{len(texts)} inputs is above the local gateway's limit of {max_inputs} inputs per "
            "call: send them in batches",
            code="too_many_inputs",
        )
    if request.dimensions is not None and not 1 <= request.dimensions <= 8192:
        raise _invalid("dimensions: expected an integer from 1 to 8192")
    return request, texts
