"""langchain-tests' standard unit suites for ChatIgris and IgrisEmbeddings."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_igris import ChatIgris, IgrisEmbeddings

_ENV = {"IGRIS_API_KEY": "ig_env_key", "IGRIS_BASE_URL": "https://gateway.example.com"}


@pytest.fixture(autouse=True)
def _trusted_for_load(request: pytest.FixtureRequest) -> Iterator[None]:
    """For ``test_serdes`` only: list ChatIgris in langchain-core's serialisation mapping.

    langchain-core 1.8's ``load(..., allowed_objects="all")`` (which the standard test calls)
    admits only classes listed in its own mapping of trusted partner packages, and
    langchain_igris is not listed there (yet). Outside this test ChatIgris round-trips with
    ``allowed_objects=[ChatIgris]`` (see test_chat_unit.py::test_load_round_trip); nothing in
    langchain_igris itself touches langchain-core's mapping.
    """
    if request.node.name != "test_serdes":
        yield
        return
    load_module = importlib.import_module("langchain_core.load.load")
    path = ("langchain_igris", "chat_models", "ChatIgris")
    mappings: dict[tuple[str, ...], tuple[str, ...]] = load_module.ALL_SERIALIZABLE_MAPPINGS
    cache: dict[str, Any] = load_module._default_class_paths_cache
    saved = dict(cache)
    mappings[path] = path
    cache.clear()
    try:
        yield
    finally:
        del mappings[path]
        cache.clear()
        cache.update(saved)


class TestChatIgrisStandardUnit(ChatModelUnitTests):
    """ChatModelUnitTests, in full."""

    @property
    def chat_model_class(self) -> type[ChatIgris]:
        return ChatIgris

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@openai-prod/gpt-4o", "api_key": "ig_test", "base_url": "http://gw.test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            _ENV,
            {"model": "@openai-prod/gpt-4o"},
            {"api_key": "ig_env_key", "base_url": "https://gateway.example.com"},
        )

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "@openai-prod/gpt-4o-mini"


class TestIgrisEmbeddingsStandardUnit(EmbeddingsUnitTests):
    """EmbeddingsUnitTests, in full."""

    @property
    def embeddings_class(self) -> type[IgrisEmbeddings]:
        return IgrisEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@openai-prod/text-embedding-3-small", "api_key": "ig_test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            _ENV,
            {"model": "@openai-prod/text-embedding-3-small"},
            {"api_key": "ig_env_key", "base_url": "https://gateway.example.com"},
        )
