"""Fixtures for llama_index_igris tests: the offline gateway, models pointed at it, mock
transports, and a guard that fails any attempt to reach the network (LlamaIndex must never
download tokenizers, NLTK data or anything else here)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from igris_core.local_gateway import LocalGateway
from igris_core.testing import igris_gateway, igris_gateway_session
from llama_index_igris import IgrisEmbedding, IgrisLLM
from tests.llama_index_igris.helpers import Handler, Recorder

__all__ = ["igris_gateway", "igris_gateway_session"]

_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_attempts: list[Any] = []


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in _LOOPBACK:
        _attempts.append(address)  # recorded even if the caller swallows the error
        raise RuntimeError(f"network access attempted in a test: {address!r}")
    return _connect(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOOPBACK and name is not None:
        _attempts.append(name)
        raise RuntimeError(f"name lookup attempted in a test: {name!r}")
    return _getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only loopback connections (a download by LlamaIndex, NLTK or tiktoken fails the test);
    no OpenAI key for an accidental default model to find; no Igris settings from the shell."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("IGRIS_API_KEY", raising=False)
    monkeypatch.delenv("IGRIS_BASE_URL", raising=False)
    _attempts.clear()
    yield
    assert not _attempts, f"network access attempted: {_attempts}"


@pytest.fixture
def gw(igris_gateway: LocalGateway) -> LocalGateway:
    """The session's offline gateway, reset for this test."""
    return igris_gateway


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
