"""A call's ``model=`` keyword, as OpenAILike takes it: a bare model name overrides the model on
the LLM's own connection; ``@slug/model`` switches connection."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.llms.types import ChatMessage

from igris_core import IgrisInputError
from igris_core.local_gateway import LocalGateway
from llama_index_igris import IgrisLLM


def test_bare_model_name_stays_on_the_connection(gw: LocalGateway, llm: IgrisLLM) -> None:
    assert "hello" in llm.complete("hello", model="gpt-4o-mini").text
    entry = gw.audit[-1]
    assert (entry.connection, entry.model) == ("openai-prod", "gpt-4o-mini")
    assert llm.model == "@openai-prod/gpt-4o"  # the instance keeps its model


def test_bare_model_name_on_async_and_streaming_calls(gw: LocalGateway, llm: IgrisLLM) -> None:
    async def run() -> str:
        stream = await llm.astream_chat([ChatMessage(role="user", content="hi")], model="o3-mini")
        return "".join([part.delta or "" async for part in stream])

    assert "hi" in asyncio.run(run())
    assert (gw.audit[-1].connection, gw.audit[-1].model) == ("openai-prod", "o3-mini")


def test_slug_form_switches_connection(gw: LocalGateway, llm: IgrisLLM) -> None:
    llm.complete("hello", model="@anthropic-prod/claude-3-5-haiku-latest")
    entry = gw.audit[-1]
    assert (entry.connection, entry.model) == ("anthropic-prod", "claude-3-5-haiku-latest")


@pytest.mark.parametrize("model", ["", "gpt 4o", "@bad slug/x", "@openai-prod/", 4])
def test_bad_call_model_is_refused_before_sending(
    gw: LocalGateway, llm: IgrisLLM, model: object
) -> None:
    with pytest.raises(IgrisInputError, match="invalid model"):
        llm.complete("hello", model=model)
    assert gw.audit == []
