"""Constructor keywords: one documented name for your own async client (``async_http_client``,
as OpenAILike takes it), and an unknown keyword is refused with the name it probably meant,
never silently ignored."""

from __future__ import annotations

import httpx
import pytest

from igris_core import IgrisInputError
from llama_index_igris import IgrisEmbedding, IgrisLLM
from tests.llama_index_igris.helpers import SECRET

MODELS = [
    (IgrisLLM, "@openai-prod/gpt-4o"),
    (IgrisEmbedding, "@openai-prod/text-embedding-3-small"),
]


@pytest.mark.parametrize(("cls", "model"), MODELS)
@pytest.mark.parametrize(
    ("keyword", "meant"),
    [
        ("http_async_client", "async_http_client"),
        ("api_base", "base_url"),
        ("max_retry", "max_retries"),
        ("igris_users", "igris_user"),
    ],
)
def test_unknown_keyword_is_refused_with_the_meant_name(
    cls: type[IgrisLLM | IgrisEmbedding], model: str, keyword: str, meant: str
) -> None:
    with pytest.raises(IgrisInputError, match=f"'{keyword}'.*'{meant}'") as info:
        cls(model=model, api_key=SECRET, **{keyword: httpx.AsyncClient()})
    assert isinstance(info.value, TypeError)  # as Python's own unexpected-keyword error


def test_unrelated_keyword_is_refused() -> None:
    with pytest.raises(IgrisInputError, match="'frobnicate'"):
        IgrisLLM(model="@openai-prod/gpt-4o", api_key=SECRET, frobnicate=1)


def test_llama_index_base_fields_are_still_taken() -> None:
    llm = IgrisLLM(model="@openai-prod/gpt-4o", api_key=SECRET, system_prompt="Be brief.")
    assert llm.system_prompt == "Be brief."
    embed = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small", api_key=SECRET, num_workers=2
    )
    assert embed.num_workers == 2


@pytest.mark.parametrize(("cls", "model"), MODELS)
def test_serialised_models_load_back(cls: type[IgrisLLM | IgrisEmbedding], model: str) -> None:
    original = cls(model=model, api_key=SECRET, igris_user="alice")
    loaded = cls.from_dict(original.to_dict(), api_key=SECRET)
    assert (loaded.model, loaded.igris_user) == (model, "alice")
