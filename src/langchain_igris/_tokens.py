"""Token counting without network access or ``transformers``.

Exact counts come from ``tiktoken`` for OpenAI models, and only when its encoding file is
already in tiktoken's local cache (``TIKTOKEN_CACHE_DIR``, ``DATA_GYM_CACHE_DIR`` or
``<tmp>/data-gym-cache``, with the hash tiktoken publishes): counting never downloads anything.
Every other case uses LangChain's documented approximation, about 4 characters per token
(:func:`langchain_core.messages.utils.count_tokens_approximately` for messages: 3 extra tokens
per message, 85 per image). Neither path raises ``ImportError``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from igris_core.profiles import provider_model_name
from langchain_igris._convert import messages_to_wire

__all__ = ["CHARS_PER_TOKEN", "approximate_tokens", "count_messages", "count_text", "encoding_for"]

CHARS_PER_TOKEN = 4.0
"""The approximation's characters per token (OpenAI's rule of thumb for English text)."""

_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# The sha256 tiktoken checks its downloaded files against (tiktoken_ext.openai_public).
_HASHES = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_TOKENS_PER_MESSAGE = 3  # OpenAI's chat format: <|start|>role ... <|end|>
_TOKENS_PER_IMAGE = 85  # a low-detail image tile, as count_tokens_approximately counts it


def _cached_file(name: str) -> str | None:
    """The path of tiktoken's cached file for encoding ``name`` when present and intact."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # caching turned off: tiktoken would download
        return None
    path = os.path.join(
        cache_dir, hashlib.sha1(_URL.format(name).encode(), usedforsecurity=False).hexdigest()
    )
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    return path if hashlib.sha256(data).hexdigest() == _HASHES[name] else None


@lru_cache(maxsize=8)
def _encoding(name: str) -> Any:
    if _cached_file(name) is None:
        return None
    import tiktoken

    return tiktoken.get_encoding(name)  # read from the cache checked above, no download


def encoding_for(model: str) -> Any:
    """The tiktoken ``Encoding`` of ``model`` (``@slug/model`` or bare) when tiktoken is
    installed, knows the model and has its file cached locally; else ``None``."""
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        name = tiktoken.encoding_name_for_model(provider_model_name(model))
    except KeyError:
        return None
    return _encoding(name) if name in _HASHES else None


def approximate_tokens(text: str) -> int:
    """About one token per :data:`CHARS_PER_TOKEN` characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_text(model: str, text: str) -> int:
    """Tokens in ``text``: exact when :func:`encoding_for` finds an encoding, else approximate."""
    encoding = encoding_for(model)
    if encoding is None:
        return approximate_tokens(text)
    return len(encoding.encode(text, disallowed_special=()))


def _value_tokens(encoding: Any, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(encoding.encode(value, disallowed_special=()))
    if isinstance(value, list) and all(isinstance(block, dict) for block in value):
        total = 0
        for block in value:
            if block.get("type") in ("image_url", "image"):
                total += _TOKENS_PER_IMAGE
            else:
                total += _value_tokens(encoding, block.get("text", json.dumps(block)))
        return total
    return len(encoding.encode(json.dumps(value), disallowed_special=()))


def count_messages(
    model: str, messages: Sequence[BaseMessage], tools: list[dict[str, Any]] | None
) -> int:
    """Tokens of a chat request (messages and OpenAI-format ``tools``): OpenAI's counting over
    the wire messages when exact, else ``count_tokens_approximately``."""
    encoding = encoding_for(model)
    if encoding is None:
        return count_tokens_approximately(messages, tools=cast(Any, tools))
    total = _TOKENS_PER_MESSAGE  # the answer's primer
    for message in messages_to_wire(messages):
        total += _TOKENS_PER_MESSAGE
        total += sum(_value_tokens(encoding, value) for value in message.values())
    if tools:
        total += _value_tokens(encoding, tools)
    return total
