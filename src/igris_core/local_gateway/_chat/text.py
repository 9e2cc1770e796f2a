"""Words and token counts: the echo backend's deterministic notion of a token.

A token is a whitespace-separated word. Splitting keeps the whitespace with the word that follows
it, so the pieces of a text always concatenate back to the text itself (streams rely on that).
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["PER_MESSAGE_TOKENS", "count_words", "cut_at_stop", "hex_digest", "word_pieces"]

# Fixed overhead per message, as chat models count role and separators.
PER_MESSAGE_TOKENS = 3

_PIECE_RE = re.compile(r"\s*\S+")


def word_pieces(text: str) -> list[str]:
    """Split ``text`` into one piece per word, each with the whitespace before it.

    Trailing whitespace goes with the last piece, so ``"".join(word_pieces(t)) == t`` for any
    text holding at least one word.
    """
    pieces = _PIECE_RE.findall(text)
    if not pieces:
        return [text] if text else []
    tail = text[sum(len(p) for p in pieces) :]
    if tail:
        pieces[-1] += tail
    return pieces


def count_words(text: str) -> int:
    """The number of tokens (whitespace-separated words) in ``text``."""
    return len(text.split())


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    """Cut ``text`` before the earliest occurrence of any stop string.

    Returns the kept text and the stop string that matched (``None`` when none did).
    """
    best: tuple[int, str] | None = None
    for stop in stops:
        if not stop:
            continue
        at = text.find(stop)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def hex_digest(*parts: str, size: int = 12) -> str:
    """A stable hex digest of ``parts`` (same input, same id, in every process)."""
    h = hashlib.blake2b(digest_size=size)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
