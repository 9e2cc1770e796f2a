"""A caller's own ``httpx.AsyncClient`` serves one ``asyncio.run`` after another: every call
answers and the gateway receives each request once, whichever AsyncIgris shares the client."""

from __future__ import annotations

import asyncio

import httpx

from igris_core import AsyncIgris
from igris_core.local_gateway import LocalGateway


def test_own_async_client_across_event_loops(gw: LocalGateway) -> None:
    own = httpx.AsyncClient()
    first, second = (
        AsyncIgris(gw.api_key, base_url=gw.base_url, http_client=own, max_retries=0)
        for _ in range(2)
    )

    async def ask(client: AsyncIgris, text: str) -> str:
        answer = await client.chat.completions.create(
            model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": text}]
        )
        return answer.choices[0].message.content or ""

    async def ask_streaming(client: AsyncIgris, text: str) -> str:
        stream = await client.chat.completions.create(
            model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": text}], stream=True
        )
        return "".join(
            [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        )

    texts = [f"question {i}" for i in range(4)]
    answers = [
        asyncio.run(ask(first, texts[0])),
        asyncio.run(ask_streaming(first, texts[1])),
        asyncio.run(ask(second, texts[2])),
        asyncio.run(ask(first, texts[3])),
    ]
    assert all(text in answer for text, answer in zip(texts, answers, strict=True))
    assert len(gw.audit) == len(texts)
