"""Embedding vectors in base64 (little-endian float32), without numpy."""

from __future__ import annotations

import base64
import sys
from array import array

__all__ = ["b64_to_floats", "floats_to_b64"]


def b64_to_floats(text: str) -> list[float]:
    """Decode a base64 embedding (little-endian float32, as OpenAI sends it) into floats."""
    values = array("f")
    values.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def floats_to_b64(values: list[float]) -> str:
    """Encode floats as base64 little-endian float32 (the inverse of :func:`b64_to_floats`)."""
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
