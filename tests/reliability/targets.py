"""The client calls the reliability suite tries: one :class:`Target` per client class and call
shape (plain chat, stream, embeddings; sync and async), all run against a gateway given as a
:class:`Conn`.

A target builds a fresh client from the ``Conn`` (key, base URL, retries, timeout), makes one
call, closes what it opened, and returns what the caller gets: the answer's text for chat and
streams (a stream is read to its end), the first vector for embeddings. Async targets run on
their own event loop (``asyncio.run``), so every test can be a plain function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Literal

from igris_core import AsyncIgris, Igris

CHAT_MODEL = "@openai-prod/gpt-4o"
EMBED_MODEL = "@openai-prod/text-embedding-3-small"
PROMPT = "Count one two three four five six seven eight"
MESSAGES = [{"role": "user", "content": PROMPT}]
EXPECTED_TEXT = PROMPT  # the echo backend answers the last user message

Kind = Literal["chat", "stream", "embed"]


@dataclass(frozen=True)
class Conn:
    """Where and how a target connects."""

    base_url: str
    api_key: str
    max_retries: int = 2
    timeout: float = 10.0

    def but(self, **changes: Any) -> Conn:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Target:
    """One client call: ``run(conn)`` returns the answer's text or the first vector."""

    name: str
    kind: Kind
    run: Callable[[Conn], Any]

    @property
    def route(self) -> str:
        """The gateway route the call hits (as in the audit trail)."""
        return "embeddings" if self.kind == "embed" else "chat"

    def __call__(self, conn: Conn) -> Any:
        return self.run(conn)

    def __repr__(self) -> str:
        return self.name


def _sync(fn: Callable[[Conn], Coroutine[Any, Any, Any]]) -> Callable[[Conn], Any]:
    def run(conn: Conn) -> Any:
        return asyncio.run(fn(conn))

    run.__name__ = fn.__name__
    return run


# --- igris_core --------------------------------------------------------------------------------
def _igris(conn: Conn) -> Igris:
    return Igris(
        conn.api_key, base_url=conn.base_url, max_retries=conn.max_retries, timeout=conn.timeout
    )


def _aigris(conn: Conn) -> AsyncIgris:
    return AsyncIgris(
        conn.api_key, base_url=conn.base_url, max_retries=conn.max_retries, timeout=conn.timeout
    )


def igris_chat(conn: Conn) -> str | None:
    with _igris(conn) as client:
        answer = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        return answer.choices[0].message.content


def igris_stream(conn: Conn) -> str | None:
    with (
        _igris(conn) as client,
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True) as stream,
    ):
        return stream.until_done().choices[0].message.content


def igris_embed(conn: Conn) -> list[float]:
    with _igris(conn) as client:
        vector = client.embeddings.create(model=EMBED_MODEL, input=PROMPT).data[0].embedding
        assert isinstance(vector, list)
        return vector


@_sync
async def aigris_chat(conn: Conn) -> str | None:
    async with _aigris(conn) as client:
        answer = await client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        return answer.choices[0].message.content


@_sync
async def aigris_stream(conn: Conn) -> str | None:
    async with _aigris(conn) as client:
        stream = await client.chat.completions.create(
            model=CHAT_MODEL, messages=MESSAGES, stream=True
        )
        async with stream:
            answer = await stream.until_done()
        return answer.choices[0].message.content


@_sync
async def aigris_embed(conn: Conn) -> list[float]:
    async with _aigris(conn) as client:
        answer = await client.embeddings.create(model=EMBED_MODEL, input=PROMPT)
        vector = answer.data[0].embedding
        assert isinstance(vector, list)
        return vector


CORE_TARGETS = [
    Target("Igris.chat", "chat", igris_chat),
    Target("Igris.stream", "stream", igris_stream),
    Target("Igris.embed", "embed", igris_embed),
    Target("AsyncIgris.chat", "chat", aigris_chat),
    Target("AsyncIgris.stream", "stream", aigris_stream),
    Target("AsyncIgris.embed", "embed", aigris_embed),
]


# --- langchain_igris ---------------------------------------------------------------------------
def _chat_igris(conn: Conn, **extra: Any) -> Any:
    from langchain_igris import ChatIgris

    return ChatIgris(
        model=CHAT_MODEL,
        base_url=conn.base_url,
        api_key=conn.api_key,
        max_retries=conn.max_retries,
        timeout=conn.timeout,
        **extra,
    )


def _lc_embeddings(conn: Conn) -> Any:
    from langchain_igris import IgrisEmbeddings

    return IgrisEmbeddings(
        model=EMBED_MODEL,
        base_url=conn.base_url,
        api_key=conn.api_key,
        max_retries=conn.max_retries,
        timeout=conn.timeout,
    )


def chat_igris_invoke(conn: Conn) -> str:
    return str(_chat_igris(conn).invoke(PROMPT).content)


def chat_igris_invoke_streaming(conn: Conn) -> str:
    """``invoke`` on a ``streaming=True`` model: a stream under the hood, one answer out."""
    return str(_chat_igris(conn, streaming=True).invoke(PROMPT).content)


def chat_igris_stream(conn: Conn) -> str:
    return "".join(str(chunk.content) for chunk in _chat_igris(conn).stream(PROMPT))


@_sync
async def chat_igris_ainvoke(conn: Conn) -> str:
    return str((await _chat_igris(conn).ainvoke(PROMPT)).content)


@_sync
async def chat_igris_astream(conn: Conn) -> str:
    return "".join([str(chunk.content) async for chunk in _chat_igris(conn).astream(PROMPT)])


def lc_embed_query(conn: Conn) -> list[float]:
    return list(_lc_embeddings(conn).embed_query(PROMPT))


@_sync
async def lc_aembed_documents(conn: Conn) -> list[float]:
    return list((await _lc_embeddings(conn).aembed_documents([PROMPT]))[0])


LANGCHAIN_TARGETS = [
    Target("ChatIgris.invoke", "chat", chat_igris_invoke),
    Target("ChatIgris.ainvoke", "chat", chat_igris_ainvoke),
    Target("ChatIgris.stream", "stream", chat_igris_stream),
    Target("ChatIgris.astream", "stream", chat_igris_astream),
    Target("ChatIgris(streaming).invoke", "stream", chat_igris_invoke_streaming),
    Target("IgrisEmbeddings.embed_query", "embed", lc_embed_query),
    Target("IgrisEmbeddings.aembed_documents", "embed", lc_aembed_documents),
]


# --- llama_index_igris -------------------------------------------------------------------------
def _igris_llm(conn: Conn) -> Any:
    from llama_index_igris import IgrisLLM

    return IgrisLLM(
        model=CHAT_MODEL,
        base_url=conn.base_url,
        api_key=conn.api_key,
        max_retries=conn.max_retries,
        timeout=conn.timeout,
    )


def _li_embedding(conn: Conn) -> Any:
    from llama_index_igris import IgrisEmbedding

    return IgrisEmbedding(
        model=EMBED_MODEL,
        base_url=conn.base_url,
        api_key=conn.api_key,
        max_retries=conn.max_retries,
        timeout=conn.timeout,
    )


def _li_messages() -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=PROMPT)]


def igris_llm_chat(conn: Conn) -> str | None:
    return _igris_llm(conn).chat(_li_messages()).message.content


def igris_llm_stream_chat(conn: Conn) -> str:
    parts = list(_igris_llm(conn).stream_chat(_li_messages()))
    assert parts, "stream_chat yielded nothing"
    return str(parts[-1].message.content)


def igris_llm_complete(conn: Conn) -> str:
    return _igris_llm(conn).complete(PROMPT).text


@_sync
async def igris_llm_achat(conn: Conn) -> str | None:
    return (await _igris_llm(conn).achat(_li_messages())).message.content


@_sync
async def igris_llm_astream_chat(conn: Conn) -> str:
    parts = [part async for part in await _igris_llm(conn).astream_chat(_li_messages())]
    assert parts, "astream_chat yielded nothing"
    return str(parts[-1].message.content)


def li_text_embedding(conn: Conn) -> list[float]:
    return list(_li_embedding(conn).get_text_embedding(PROMPT))


@_sync
async def li_aquery_embedding(conn: Conn) -> list[float]:
    return list(await _li_embedding(conn).aget_query_embedding(PROMPT))


LLAMA_INDEX_TARGETS = [
    Target("IgrisLLM.chat", "chat", igris_llm_chat),
    Target("IgrisLLM.complete", "chat", igris_llm_complete),
    Target("IgrisLLM.achat", "chat", igris_llm_achat),
    Target("IgrisLLM.stream_chat", "stream", igris_llm_stream_chat),
    Target("IgrisLLM.astream_chat", "stream", igris_llm_astream_chat),
    Target("IgrisEmbedding.get_text_embedding", "embed", li_text_embedding),
    Target("IgrisEmbedding.aget_query_embedding", "embed", li_aquery_embedding),
]

ALL_TARGETS = CORE_TARGETS + LANGCHAIN_TARGETS + LLAMA_INDEX_TARGETS
STREAM_TARGETS = [t for t in ALL_TARGETS if t.kind == "stream"]


def ids(targets: list[Target]) -> list[str]:
    """pytest ids of targets."""
    return [t.name for t in targets]
