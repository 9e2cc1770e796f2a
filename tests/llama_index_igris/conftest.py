"""Fixtures for llama_index_igris tests: models pointed at the offline gateway (``gw``, from the
root conftest), and mock transports. Network access beyond loopback fails the test
(pytest-socket, configured in pyproject.toml): LlamaIndex must never download tokenizers, NLTK
data or anything else here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from igris_core.local_gateway import LocalGateway
from llama_index_igris import IgrisEmbedding, IgrisLLM
from tests.llama_index_igris.helpers import Handler, Recorder


@pytest.fixture(autouse=True)
def _no_ambient_settings(no_igris_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No OpenAI key for an accidental default model to find; no Igris settings from the
    shell (in every test here, not only those using ``gw``)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def llm(gw: LocalGateway) -> IgrisLLM:
    """An IgrisLLM on the gateway's openai-prod connection (echo backend)."""
    return IgrisLLM(model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url)


@pytest.fixture
def embed_model(gw: LocalGateway) -> IgrisEmbedding:
    """An IgrisEmbedding on the gateway's openai-prod connection (feature hashing)."""
    return IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small", api_key=gw.api_key, base_url=gw.base_url
    )


@pytest.fixture
def mock_llm() -> Callable[..., tuple[IgrisLLM, Recorder]]:
    """``mock_llm(handler, **fields)``: an IgrisLLM whose sync and async requests go to
    ``handler`` (through ``httpx.MockTransport``), and the recorder of those requests."""

    def make(handler: Handler, **fields: Any) -> tuple[IgrisLLM, Recorder]:
        rec = Recorder(handler)
        fields.setdefault("api_key", "ig_test_secret_key")
        fields.setdefault("base_url", "https://gw.test")
        fields.setdefault("model", "@openai-prod/gpt-4o")
        llm = IgrisLLM(
            http_client=httpx.Client(transport=httpx.MockTransport(rec)),
            async_http_client=httpx.AsyncClient(transport=httpx.MockTransport(rec)),
            **fields,
        )
        return llm, rec

    return make


@pytest.fixture
def mock_embedding() -> Callable[..., tuple[IgrisEmbedding, Recorder]]:
    """``mock_embedding(handler, **fields)``: an IgrisEmbedding on a mock transport."""

    def make(handler: Handler, **fields: Any) -> tuple[IgrisEmbedding, Recorder]:
        rec = Recorder(handler)
        fields.setdefault("api_key", "ig_test_secret_key")
        fields.setdefault("base_url", "https://gw.test")
        fields.setdefault("model", "@openai-prod/text-embedding-3-small")
        model = IgrisEmbedding(
            http_client=httpx.Client(transport=httpx.MockTransport(rec)),
            async_http_client=httpx.AsyncClient(transport=httpx.MockTransport(rec)),
            **fields,
        )
        return model, rec

    return make
