"""langchain-tests' standard integration suites, over real HTTP against the local gateway.

The gateway's ``echo`` backend is deterministic: it answers with the last user message, honours
``max_tokens``/``stop``/``n``, makes schema-valid tool calls when a tool is forced and
schema-valid JSON for ``response_format: json_schema``. The only tests marked ``xfail`` are the
ones whose assertions need a real language model's judgement (each reason says which).

The multimodal tests download sample files from the internet; this sandbox has no network, so
those downloads are answered from small local files of the same kinds (PNG, PDF, WAV). What
is tested is unchanged: the inputs reach the gateway in every format the tests use.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
)

from igris_core.local_gateway import LocalGateway
from langchain_igris import ChatIgris, IgrisEmbeddings


def _png() -> bytes:
    def block(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + block(b"IHDR", header) + block(b"IDAT", pixels) + block(b"IEND", b"")
    )


def _pdf() -> bytes:
    return (
        b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


_SAMPLES = {".png": _png, ".pdf": _pdf, ".wav": _wav}


@pytest.fixture(autouse=True)
def _gateway_env(gw: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> LocalGateway:
    """Point the suites' models at the gateway (``gw`` sets IGRIS_BASE_URL / IGRIS_API_KEY), and
    serve their sample downloads locally."""
    monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "langchain-igris-tests/0.1")
    real_get = httpx.get

    def get(url: str, *args: Any, **kwargs: Any) -> httpx.Response:
        for suffix, make in _SAMPLES.items():
            if str(url).endswith(suffix) and not str(url).startswith(gw.base_url):
                return httpx.Response(200, content=make(), request=httpx.Request("GET", url))
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(httpx, "get", get)
    return gw


class TestChatIgrisStandardIntegration(ChatModelIntegrationTests):
    """ChatModelIntegrationTests against the local gateway."""

    @property
    def chat_model_class(self) -> type[ChatIgris]:
        return ChatIgris

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@openai-prod/gpt-4o", "max_retries": 0}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

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
    def supports_image_tool_message(self) -> bool:
        # Chat completions tool messages carry text parts only (OpenAI's rule).
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[Any, Any]:
        return {
            "invoke": ["cache_read_input", "reasoning_output"],
            "stream": ["cache_read_input", "reasoning_output"],
        }

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return self._invoke("Repeat after me: the cache is warm.", stream)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        return self._invoke("Think, then say: done.", stream)

    def _invoke(self, prompt: str, stream: bool) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params)
        if not stream:
            return model.invoke(prompt)
        full: Any = None
        for chunk in model.stream(prompt):
            full = chunk if full is None else full + chunk
        assert isinstance(full, AIMessage)
        return full

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "@openai-prod/gpt-4o-mini"

    @pytest.mark.xfail(
        reason="needs a real model to read the argument 3 out of 'magic_function(3)': the "
        "echo backend's forced tool call carries schema-valid placeholder arguments",
        strict=True,
    )
    def test_tool_calling(self, model: Any) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(
        reason="needs a real model to read the argument 3 out of 'magic_function(3)': the "
        "echo backend's forced tool call carries schema-valid placeholder arguments",
        strict=True,
    )
    async def test_tool_calling_async(self, model: Any) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(
        reason="json_mode sends no schema: only a real model can follow the prompt's request "
        "for 'setup' and 'punchline' keys (the echo backend answers {'answer': <prompt>})",
        strict=True,
    )
    def test_json_mode(self, model: Any) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(
        reason="with tool_choice unset, a real model decides by itself to call get_weather; "
        "the echo backend calls a tool only when it is forced",
        strict=True,
    )
    def test_agent_loop(self, model: Any) -> None:
        super().test_agent_loop(model)


class TestIgrisEmbeddingsStandardIntegration(EmbeddingsIntegrationTests):
    """EmbeddingsIntegrationTests against the local gateway."""

    @property
    def embeddings_class(self) -> type[IgrisEmbeddings]:
        return IgrisEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "@openai-prod/text-embedding-3-small", "max_retries": 0}
