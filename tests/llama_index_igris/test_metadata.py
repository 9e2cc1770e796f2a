"""``IgrisLLM.metadata`` from the shared model profiles: LlamaIndex sizes prompt packing, chat
memory and structured-output programs by it. User values win; unknown models get conservative
defaults."""

from __future__ import annotations

import pytest
from llama_index.core import Document, SummaryIndex
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.node_parser import SentenceSplitter

from igris_core._profiles import model_profile
from igris_core.local_gateway import LocalGateway, ScriptedReply
from llama_index_igris import IgrisLLM
from tests.llama_index_igris.helpers import SECRET


def _llm(gw: LocalGateway, model: str, **fields: object) -> IgrisLLM:
    return IgrisLLM(model=model, api_key=gw.api_key, base_url=gw.base_url, **fields)  # type: ignore[arg-type]


def _compact_calls(gw: LocalGateway, llm: IgrisLLM) -> int:
    """How many LLM calls a compact query over ~6,000 tokens of text takes."""
    docs = [Document(text=f"Fact {i}: " + "the tower stands in Paris. " * 40) for i in range(30)]
    nodes = SentenceSplitter(chunk_size=400, chunk_overlap=0).get_nodes_from_documents(docs)
    engine = SummaryIndex(nodes).as_query_engine(llm=llm, response_mode="compact")
    gw.script("openai-prod", *[ScriptedReply.text("In Paris.")] * len(nodes))
    engine.query("Where is the tower?")
    return len(gw.audit)


def test_compact_packing_uses_the_models_context_window(gw: LocalGateway) -> None:
    assert _compact_calls(gw, _llm(gw, "@openai-prod/gpt-4o")) == 1
    gw.reset()
    assert _compact_calls(gw, _llm(gw, "@openai-prod/gpt-4o", context_window=2000)) > 3


def test_chat_memory_is_sized_by_the_model(gw: LocalGateway) -> None:
    gpt4o = ChatMemoryBuffer.from_defaults(llm=_llm(gw, "@openai-prod/gpt-4o"))
    assert gpt4o.token_limit == int(128_000 * 0.75)


def test_known_models_report_their_profile() -> None:
    meta = IgrisLLM(model="@openai-prod/gpt-4o-2024-08-06", api_key=SECRET).metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        128_000,
        16_384,
        True,
    )
    o1 = IgrisLLM(model="@openai-prod/o1-mini", api_key=SECRET).metadata
    assert o1.is_function_calling_model is False
    # The output shares the context: LlamaIndex's own reserve, not the whole window.
    llama = IgrisLLM(model="@groq/llama-3.3-70b-versatile", api_key=SECRET).metadata
    assert (llama.context_window, llama.num_output) == (131_072, -1)


def test_unknown_models_get_conservative_defaults() -> None:
    assert model_profile("@ollama/my-finetune") is None
    meta = IgrisLLM(model="@ollama/my-finetune", api_key=SECRET).metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        DEFAULT_CONTEXT_WINDOW,
        -1,
        False,
    )


@pytest.mark.parametrize("model", ["@openai-prod/gpt-4o", "@ollama/my-finetune"])
def test_user_values_win(model: str) -> None:
    llm = IgrisLLM(
        model=model,
        api_key=SECRET,
        context_window=5000,
        max_tokens=300,
        is_function_calling_model=True,
    )
    meta = llm.metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        5000,
        300,
        True,
    )


def test_metadata_follows_a_model_change() -> None:
    llm = IgrisLLM(model="@ollama/my-finetune", api_key=SECRET)
    llm.model = "@anthropic/claude-3-5-sonnet-latest"
    assert llm.metadata.context_window == 200_000
    assert llm.metadata.is_function_calling_model is True
