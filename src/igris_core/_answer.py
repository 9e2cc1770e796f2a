"""One place that bounds, decodes and redacts a gateway answer (docs/protocol.md, "Errors" and
"Limits on the client").

Every answer is treated as hostile: its body is inflated in bounded steps and counted while it is
read (never a blind ``gzip``/``zstd`` bomb), an error keeps a bounded prefix of it, and any echo of
the API key (raw, JSON-escaped, or a piece of it) is removed from the raw text before anything
decodes it, so no error attribute, message, chained exception or pickle can carry the key.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from igris_core import protocol
from igris_core._errors import (
    IgrisDecodeError,
    IgrisError,
    IgrisRateLimitError,
    IgrisResponseTooLargeError,
)
from igris_core._retries import parse_retry_after

__all__ = [
    "MIN_SECRET_PIECE",
    "Answer",
    "BodyDecoder",
    "Redactor",
    "decode_error",
    "error_from_answer",
    "loads_or_none",
    "raw_body",
    "raw_body_async",
    "too_large",
]

MIN_SECRET_PIECE = 12
"""The shortest run of the key's characters that counts as a leak (and is redacted)."""

_PIECE = 64 * 1024  # the most one inflate step may produce
_MESSAGE_MAX_CHARS = 2000
_REDACTED = "***"
# JSON string escapes: a server may echo the key as "\u0069\u0067..." or with "\/".
_ESCAPE_RE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}
_SIMPLE_ESCAPES["t"] = "\t"


class Redactor:
    """Removes the API key from text, whatever form a server echoed it in: the raw key, JSON
    ``\\uXXXX`` or ``\\/`` escapes, or any run of :data:`MIN_SECRET_PIECE` or more of its
    characters (a truncated echo leaks as surely as the whole key)."""

    __slots__ = ("_pieces",)

    def __init__(self, secret: str) -> None:
        n = MIN_SECRET_PIECE
        self._pieces = tuple(dict.fromkeys(secret[i : i + n] for i in range(len(secret) - n + 1)))

    def __call__(self, text: str) -> str:
        """``text`` with every echo of the key replaced by ``***``."""
        if not self._pieces or not text:
            return text
        decoded, starts = _unescape(text)
        covered = bytearray(len(decoded))
        hit = False
        for piece in self._pieces:
            at = decoded.find(piece)
            while at != -1:
                hit = True
                covered[at : at + len(piece)] = b"\x01" * len(piece)
                at = decoded.find(piece, at + 1)
        if not hit:
            return text
        return _replace_runs(text, covered, starts)

    def __repr__(self) -> str:
        return "Redactor(***)"


def _unescape(text: str) -> tuple[str, list[int] | None]:
    """The text with JSON escapes decoded, and where each decoded character starts in ``text``
    (``None`` when nothing was escaped: positions are the same)."""
    if "\\" not in text:
        return text, None
    chars: list[str] = []
    starts: list[int] = []
    position = 0
    for match in _ESCAPE_RE.finditer(text):
        for index in range(position, match.start()):
            chars.append(text[index])
            starts.append(index)
        hex_digits, simple = match.groups()
        chars.append(chr(int(hex_digits, 16)) if hex_digits else _SIMPLE_ESCAPES[simple])
        starts.append(match.start())
        position = match.end()
    for index in range(position, len(text)):
        chars.append(text[index])
        starts.append(index)
    starts.append(len(text))  # the end of the last character
    return "".join(chars), starts


def _replace_runs(text: str, covered: bytearray, starts: list[int] | None) -> str:
    """``text`` with each run of covered (decoded) characters replaced by one ``***``."""
    out: list[str] = []
    raw_at = 0
    index = 0
    size = len(covered)
    while index < size:
        if not covered[index]:
            index += 1
            continue
        end = index
        while end < size and covered[end]:
            end += 1
        raw_start = index if starts is None else starts[index]
        raw_end = end if starts is None else starts[end]
        out.append(text[raw_at:raw_start])
        out.append(_REDACTED)
        raw_at = raw_end
        index = end
    out.append(text[raw_at:])
    return "".join(out)


class BodyDecoder:
    """Inflates a body's raw bytes in pieces of at most 64 KiB, so one small compressed chunk
    cannot expand into gigabytes before anyone counts it. Only the encodings the client asks
    for (:data:`~igris_core.protocol.ACCEPT_ENCODING`) are accepted: any other, or a corrupt
    body, raises ``ValueError`` (the caller types it)."""

    __slots__ = ("_inflater", "_raw_deflate")

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._raw_deflate = False
        self._inflater: Any = None
        if not codings:
            return
        if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise ValueError(
                f"answer in Content-Encoding {content_encoding!r:.80}, which the client did not "
                f"ask for (it accepts {protocol.ACCEPT_ENCODING})"
            )
        wbits = zlib.MAX_WBITS | 16 if codings[0] != "deflate" else zlib.MAX_WBITS
        self._raw_deflate = codings[0] == "deflate"
        self._inflater = zlib.decompressobj(wbits)

    def decode(self, raw: bytes) -> Iterable[bytes]:
        """The decoded bytes of one raw chunk, in bounded pieces (produced one at a time, so
        the caller counts each before the next is inflated)."""
        if self._inflater is None:
            return (raw,) if raw else ()
        return self._inflate(raw)

    def _inflate(self, raw: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        data = raw
        while True:
            try:
                out = inflater.decompress(data, _PIECE)
            except zlib.error as exc:
                if self._raw_deflate:  # "deflate" without its zlib header, as some servers send
                    self._raw_deflate = False
                    inflater = self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    data = raw
                    continue
                raise ValueError(f"undecodable compressed answer: {exc}") from None
            if out:
                self._raw_deflate = False
            if out:
                yield out
            data = inflater.unconsumed_tail
            if not data and len(out) < _PIECE:
                return


def raw_body(response: httpx.Response) -> tuple[Iterator[bytes], str | None]:
    """The raw chunks of a body and the Content-Encoding they are in. A body httpx has read
    already (an ``httpx.MockTransport`` answer) comes whole and decoded."""
    if response.is_stream_consumed:
        return iter((response.content,)), None
    return response.iter_raw(), response.headers.get("content-encoding")


async def _whole(content: bytes) -> AsyncIterator[bytes]:
    yield content


def raw_body_async(response: httpx.Response) -> tuple[AsyncIterator[bytes], str | None]:
    """The async form of :func:`raw_body`."""
    if response.is_stream_consumed:
        return _whole(response.content), None
    return response.aiter_raw(), response.headers.get("content-encoding")


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole (2xx or error) answer, read within the client's limits. ``content`` is the
    decoded body; for an error answer, at most its first
    :data:`~igris_core.protocol.ERROR_BODY_MAX_BYTES` (``truncated`` tells)."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    redact: Redactor
    truncated: bool = False

    @property
    def request_id(self) -> str | None:
        """The gateway's ``X-Igris-Request-Id``."""
        value: str | None = self.headers.get(protocol.REQUEST_ID_HEADER)
        return value

    def safe_text(self) -> str:
        """A bounded prefix of the body as text, any echo of the key redacted."""
        prefix = self.content[: protocol.ERROR_BODY_MAX_BYTES]
        return self.redact(prefix.decode("utf-8", "replace"))


def loads_or_none(text: str) -> Any:
    """The JSON value of ``text``, or ``None`` when it is not JSON (or nested too deep for the
    parser: a hostile body must not raise ``RecursionError``)."""
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None


def _short(value: object) -> str | None:
    return None if value is None else str(value)[:_MESSAGE_MAX_CHARS]


def error_from_answer(answer: Answer) -> IgrisError:
    """The typed error for a non-2xx answer (docs/protocol.md, "Errors")."""
    status = answer.status_code
    text = answer.safe_text()
    parsed = loads_or_none(text)
    message = type_ = code = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            type_ = error.get("type")
            code = error.get("code")
        elif isinstance(error, str):
            message = error
        elif isinstance(parsed.get("message"), str):
            message = parsed["message"]
    if not isinstance(message, str) or not message:
        snippet = text.strip()[:200]
        message = f"HTTP {status} {answer.reason_phrase}" + (f": {snippet}" if snippet else "")
    cls = protocol.error_class_for_status(status)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "request_id": answer.request_id,
        "response": parsed,
        "body": text,
        "type": _short(type_) if isinstance(type_, str) else None,
        "code": _short(code),
    }
    message = message[:_MESSAGE_MAX_CHARS]
    if issubclass(cls, IgrisRateLimitError):
        return cls(message, retry_after=parse_retry_after(answer.headers), **kwargs)
    return cls(message, **kwargs)


def decode_error(answer: Answer, what: str, detail: str = "") -> IgrisDecodeError:
    """The error for a 2xx answer that is not what its route promises. ``detail`` says what
    was wrong and must not quote the body (the parser's own messages do: they are never
    chained)."""
    text = answer.safe_text()
    reason = f": {detail}" if detail else ""
    return IgrisDecodeError(
        f"malformed {what} answer (HTTP {answer.status_code}){reason}; body: {text[:200]!r}",
        status_code=answer.status_code,
        request_id=answer.request_id,
        body=text,
    )


def too_large(
    limit: int, status: int, headers: httpx.Headers, prefix: bytes, redact: Redactor
) -> IgrisResponseTooLargeError:
    """The error for an answer that outgrew ``max_response_bytes`` while it was read."""
    return IgrisResponseTooLargeError(
        f"the answer exceeds max_response_bytes={limit} once decompressed; reading stopped "
        "there (raise max_response_bytes on the client if such answers are expected)",
        status_code=status,
        request_id=headers.get(protocol.REQUEST_ID_HEADER),
        body=redact(prefix[: protocol.ERROR_BODY_MAX_BYTES].decode("utf-8", "replace")),
    )
