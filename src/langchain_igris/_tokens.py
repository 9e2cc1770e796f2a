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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from igris_core._profiles import provider_model_name
from langchain_igris._convert import messages_to_wire

__all__ = [
    "CHARS_PER_TOKEN",
    "SPLIT_CHARS_PER_TOKEN",
    "Pieces",
    "approximate_tokens",
    "count_messages",
    "count_text",
    "encoding_for",
    "split_texts",
]

CHARS_PER_TOKEN = 4.0
"""The approximation's characters per token (OpenAI's rule of thumb for English text)."""

SPLIT_CHARS_PER_TOKEN = 2
"""Characters per token when splitting over-long texts without a tokenizer: a bound most text
stays under (dense text such as code runs at 2 to 3), so a piece is rarely too long."""

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
    try:
        import tiktoken
    except ImportError:  # optional: exact counts only where it is installed
        return None
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


@dataclass(frozen=True)
class Pieces:
    """Texts split into pieces of at most a number of tokens (see :func:`split_texts`)."""

    texts: list[str]
    """Every piece, in order."""
    owners: list[int]
    """The position of each piece's text."""
    weights: list[int]
    """Each piece's length (tokens, or characters when approximated)."""

    def combine(self, vectors: list[list[float]]) -> list[list[float]]:
        """One vector per original text: its only piece's vector, or the length-weighted mean
        of its pieces' vectors scaled to unit length (as ``OpenAIEmbeddings`` combines them)."""
        grouped: dict[int, list[tuple[list[float], int]]] = {}
        for owner, vector, weight in zip(self.owners, vectors, self.weights, strict=True):
            grouped.setdefault(owner, []).append((vector, weight))
        out = []
        for owner in range(len(grouped)):
            parts = grouped[owner]
            if len(parts) == 1:
                out.append(parts[0][0])
                continue
            total = sum(weight for _, weight in parts)
            mean = [
                sum(vector[i] * weight for vector, weight in parts) / total
                for i in range(len(parts[0][0]))
            ]
            norm = math.sqrt(sum(value * value for value in mean)) or 1.0
            out.append([value / norm for value in mean])
        return out


def split_texts(model: str, texts: Sequence[str], max_tokens: int) -> Pieces:
    """Split each text longer than ``max_tokens`` tokens into pieces that are not: by token
    with a local tiktoken encoding, else every ``max_tokens * SPLIT_CHARS_PER_TOKEN``
    characters. An empty text stays one (empty) piece."""
    encoding = encoding_for(model)
    size = max_tokens if encoding is not None else max_tokens * SPLIT_CHARS_PER_TOKEN
    pieces: list[str] = []
    owners: list[int] = []
    weights: list[int] = []
    for owner, text in enumerate(texts):
        units: Any = text if encoding is None else encoding.encode(text, disallowed_special=())
        for start in range(0, max(len(units), 1), size):
            part = units[start : start + size]
            pieces.append(part if encoding is None else encoding.decode(part))
            owners.append(owner)
            weights.append(len(part))
    return Pieces(pieces, owners, weights)
