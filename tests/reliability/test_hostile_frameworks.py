"""The framework classes against a hostile gateway: the client limits flow through them, and
a hostile answer raises typed errors only (docs/protocol.md, "Limits on the client")."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from igris_core import IgrisResponseTooLargeError
from tests.igris_core.hostile_server import Request, Server, hostile_server, respond

KEY = "ig_live_" + "0123456789abcdef" * 3
CHAT_MODEL = "@openai-prod/gpt-4o"
EMBED_MODEL = "@openai-prod/text-embedding-3-small"


def _big_answer(request: Request) -> dict[str, Any]:
    if request.path.endswith("/embeddings"):
        return {"data": [{"index": 0, "embedding": [0.5] * 2000}]}
    text = "x" * 4000
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def _models(base_url: str) -> dict[str, tuple[Any, Any]]:
    from langchain_igris import ChatIgris, IgrisEmbeddings
    from llama_index_igris import IgrisEmbedding, IgrisLLM

    limits = {"api_key": KEY, "base_url": base_url, "max_response_bytes": 1024}
    return {
        "ChatIgris": (ChatIgris(model=CHAT_MODEL, **limits), lambda m: m.invoke("hi")),
        "IgrisEmbeddings": (
            IgrisEmbeddings(model=EMBED_MODEL, **limits),
            lambda m: m.embed_query("hi"),
        ),
        "IgrisLLM": (IgrisLLM(model=CHAT_MODEL, **limits), lambda m: m.complete("hi")),
        "IgrisEmbedding": (
            IgrisEmbedding(model=EMBED_MODEL, **limits),
            lambda m: m.get_text_embedding("hi"),
        ),
    }


@pytest.mark.parametrize("name", ["ChatIgris", "IgrisEmbeddings", "IgrisLLM", "IgrisEmbedding"])
def test_max_response_bytes_flows_through_the_framework_classes(name: str) -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 200, _big_answer(request))

    with hostile_server(script) as server:
        model, call = _models(server.base_url)[name]
        with pytest.raises(IgrisResponseTooLargeError, match="max_response_bytes=1024"):
            call(model)


def test_tool_call_arguments_nested_without_end_raise_no_recursion_error() -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.core.tools import FunctionTool

    from llama_index_igris import IgrisLLM

    deep = "[" * 5000 + "]" * 5000
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": deep}}
    answer = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]}}
        ]
    }

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 200, json.dumps(answer).encode())

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    with hostile_server(script) as server:
        llm = IgrisLLM(model=CHAT_MODEL, api_key=KEY, base_url=server.base_url)
        tool = FunctionTool.from_defaults(fn=add)
        response = llm.chat_with_tools([tool], chat_history=[ChatMessage(role="user", content="?")])
        [selection] = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
        assert selection.tool_kwargs == {}
