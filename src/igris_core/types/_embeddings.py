"""Embedding wire types."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from igris_core.types._base import GatewayResponse, IgrisModel

__all__ = ["Embedding", "EmbeddingRequest", "EmbeddingResponse", "EmbeddingUsage"]


class EmbeddingRequest(IgrisModel):
    """An embeddings request as the gateway receives it."""

    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None


class Embedding(IgrisModel):
    """One vector. ``embedding`` is a ``list[float]``, or the base64 text when the caller asked
    for ``encoding_format="base64"`` itself."""

    object: str = "embedding"
    index: int = 0
    embedding: list[float] | str


class EmbeddingUsage(IgrisModel):
    """Token counts of an embeddings call."""

    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingResponse(GatewayResponse):
    """An embeddings answer; ``data`` is in input order."""

    object: str = "list"
    data: list[Embedding] = Field(default_factory=list)
    model: str = ""
    usage: EmbeddingUsage | None = None
