"""A local, dependency-free text embedder: signed feature hashing of n-grams.

Features are lowercased word unigrams, word bigrams and character 3-grams of each word (with
boundary marks). Each feature is hashed with BLAKE2b (stable across processes and machines, unlike
``hash()``) to a dimension and a sign, weighted, summed, and the vector is L2-normalised. Texts
sharing words and word pieces get a high cosine similarity, so retrieval in a RAG demo finds the
lexically closest passages. It knows nothing about meaning: synonyms do not match.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import struct
from functools import lru_cache

__all__ = ["embed", "encode_base64"]

_WORD_RE = re.compile(r"\w+")
_UNIGRAM_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.6
_TRIGRAM_WEIGHT = 0.25


@lru_cache(maxsize=1 << 16)
def _feature_hash(feature: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little"
    )


def _features(text: str) -> list[tuple[str, float]]:
    words = _WORD_RE.findall(text.lower())
    feats: list[tuple[str, float]] = [("w:" + w, _UNIGRAM_WEIGHT) for w in words]
    feats += [(f"b:{a} {b}", _BIGRAM_WEIGHT) for a, b in itertools.pairwise(words)]
    for word in words:
        marked = f"<{word}>"
        feats += [("c:" + marked[i : i + 3], _TRIGRAM_WEIGHT) for i in range(len(marked) - 2)]
    return feats


def embed(text: str, dimensions: int) -> list[float]:
    """The unit vector of ``text`` in ``dimensions`` dimensions (all zeros for a text without
    any word)."""
    vector = [0.0] * dimensions
    for feature, weight in _features(text):
        h = _feature_hash(feature)
        sign = 1.0 if (h >> 63) & 1 else -1.0
        vector[h % dimensions] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        return vector
    return [v / norm for v in vector]


def encode_base64(vector: list[float]) -> str:
    """The vector as little-endian float32 bytes in base64 (``encoding_format="base64"``)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
