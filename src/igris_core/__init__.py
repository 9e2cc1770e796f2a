"""igris_core: the Python client of the Igris LLM security gateway.

Typed sync and async clients (:class:`Igris`, :class:`AsyncIgris`), wire types, typed errors,
identity headers (:func:`igris_context`), retries and streaming, shared by ``langchain_igris`` and
``llama_index_igris``.

Every public name is importable from ``igris_core`` itself (wire types also from
:mod:`igris_core.types`); modules whose names start with ``_`` are implementation details. The
documented subpackages are :mod:`igris_core.types`, :mod:`igris_core.adapters`,
:mod:`igris_core.local_gateway`, :mod:`igris_core.testing` and :mod:`igris_core.protocol` (the
wire constants).

Example::

    from igris_core import Igris

    igris = Igris()  # IGRIS_API_KEY, IGRIS_BASE_URL
    answer = igris.chat.completions.create(
        model="@openai-prod/gpt-4o",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
"""

from igris_core._accumulator import StreamAccumulator
from igris_core._client import AsyncIgris, Igris
from igris_core._errors import (
    IgrisAuthError,
    IgrisBadRequestError,
    IgrisConflictError,
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputError,
    IgrisInputTypeError,
    IgrisNotFoundError,
    IgrisPayloadTooLargeError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisResponseTooLargeError,
    IgrisServerError,
    IgrisStreamError,
    IgrisTimeoutError,
    IgrisValidationError,
)
from igris_core._identity import (
    Identity,
    current_context,
    decode_header_value,
    encode_header_value,
    identity_headers,
    igris_context,
    resolve_identity,
)
from igris_core._model_ref import ModelRef, parse_model
from igris_core._profiles import model_profile
from igris_core._streaming import (
    AsyncChatCompletionStream,
    AsyncStream,
    ChatCompletionStream,
    Stream,
)
from igris_core._version import __version__
from igris_core.types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatCompletionUsage,
    ChatMessage,
    Embedding,
    EmbeddingResponse,
    LlmConnection,
    LlmProviderInfo,
)

__all__ = [
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
]
