"""The public surface of the three packages, pinned.

A name in an ``__all__`` below is API: removing or renaming it is a breaking change that must show
up here and in CHANGELOG.md. Everything else lives in modules whose names start with ``_``.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

PUBLIC: dict[str, list[str]] = {
    "igris_core": [
        "AsyncChatCompletionStream",
        "AsyncIgris",
        "AsyncStream",
        "ChatCompletionChunk",
        "ChatCompletionResponse",
        "ChatCompletionStream",
        "ChatCompletionUsage",
        "ChatMessage",
        "Embedding",
        "EmbeddingResponse",
        "Identity",
        "Igris",
        "IgrisAuthError",
        "IgrisBadRequestError",
        "IgrisConflictError",
        "IgrisConnectionError",
        "IgrisDecodeError",
        "IgrisError",
        "IgrisInputError",
        "IgrisInputTypeError",
        "IgrisNotFoundError",
        "IgrisPayloadTooLargeError",
        "IgrisPolicyDeniedError",
        "IgrisRateLimitError",
        "IgrisResponseTooLargeError",
        "IgrisServerError",
        "IgrisStreamError",
        "IgrisTimeoutError",
        "IgrisValidationError",
        "LlmConnection",
        "LlmProviderInfo",
        "ModelRef",
        "Stream",
        "StreamAccumulator",
        "__version__",
        "current_context",
        "decode_header_value",
        "encode_header_value",
        "identity_headers",
        "igris_context",
        "model_profile",
        "parse_model",
        "resolve_identity",
    ],
    "igris_core.types": [
        "AuthStyle",
        "ChatCompletionChoice",
        "ChatCompletionChunk",
        "ChatCompletionChunkChoice",
        "ChatCompletionRequest",
        "ChatCompletionResponse",
        "ChatCompletionUsage",
        "ChatMessage",
        "ChoiceDelta",
        "CompletionTokensDetails",
        "Embedding",
        "EmbeddingRequest",
        "EmbeddingResponse",
        "EmbeddingUsage",
        "FunctionCall",
        "FunctionCallDelta",
        "GatewayResponse",
        "IgrisModel",
        "LlmConnection",
        "LlmProviderInfo",
        "PromptTokensDetails",
        "ToolCall",
        "ToolCallDelta",
    ],
    "igris_core.adapters": ["to_igris_error"],
    "igris_core.local_gateway": [
        "PROVIDERS",
        "STREAM_SHAPES",
        "AuditEntry",
        "AuditStats",
        "ConnectionConfig",
        "DenyRule",
        "Fault",
        "GatewayConfig",
        "LocalGateway",
        "RateLimitRule",
        "ScriptedReply",
        "load_config",
    ],
    "igris_core.testing": ["igris_gateway", "igris_gateway_session"],
    "langchain_igris": ["ChatIgris", "IgrisEmbeddings", "igris_context"],
    "llama_index_igris": ["IgrisEmbedding", "IgrisLLM"],
}

# The only modules without a leading underscore: the packages above, the wire constants, the
# adapters' one module per SDK, the CLI entry point and the framework classes' own modules
# (LangChain's serialization names ``langchain_igris.chat_models``).
PUBLIC_MODULES = {
    *PUBLIC,
    "igris_core.protocol",
    "igris_core.adapters.openai",
    "igris_core.adapters.anthropic",
    "igris_core.adapters.google",
    "igris_core.local_gateway.__main__",
    "langchain_igris.chat_models",
    "langchain_igris.embeddings",
    "llama_index_igris.llms",
    "llama_index_igris.embeddings",
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned_and_every_name_resolves(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    assert len(set(imported.__all__)) == len(imported.__all__)
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is in __all__ but missing"


def _modules(package: str) -> list[str]:
    found = [package]
    for info in pkgutil.walk_packages([str(SRC / package.replace(".", "/"))], package + "."):
        found.append(info.name)
    return found


@pytest.mark.parametrize("package", ["igris_core", "langchain_igris", "llama_index_igris"])
def test_implementation_modules_are_private(package: str) -> None:
    public = [
        name
        for name in _modules(package)
        if not any(part.startswith("_") and part != "__main__" for part in name.split("."))
        or name in PUBLIC_MODULES
    ]
    assert sorted(set(public) - PUBLIC_MODULES) == []


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


# What the framework packages may use of igris_core beyond its public names: the shared plumbing
# they are built on, which is no one else's API.
FRAMEWORK_INTERNALS = {
    "igris_core._tracing",
    "igris_core._profiles",
    "igris_core._pool",
    "igris_core._inputs",
}


@pytest.mark.parametrize("package", ["langchain_igris", "llama_index_igris"])
def test_frameworks_use_igris_core_through_its_public_names(package: str) -> None:
    used = {
        (path.name, module)
        for path in (SRC / package).rglob("*.py")
        for module in _imported_modules(path)
        if module.startswith("igris_core.") and module not in FRAMEWORK_INTERNALS
        if module not in PUBLIC_MODULES
    }
    assert sorted(used) == []
