"""Wall-clock deadlines that a trickling server cannot stretch (docs/protocol.md, "Limits on the
client").

``httpx`` timeouts bound each socket operation, so a server sending one byte every half second
never trips them. Here a :class:`Deadline` bounds the whole of something (an attempt, the wait
for the next stream event). Async code enforces it with ``anyio.fail_after``. Sync code cannot
cancel a blocking read, so the connection pool a client owns gets a network backend whose reads
and writes never wait past the deadline active in the calling context; over a caller's own
``httpx.Client`` the deadline is checked between chunks only.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator

import anyio
import httpcore
import httpx

__all__ = [
    "Deadline",
    "DeadlineBackend",
    "active",
    "attempt_seconds",
    "read_async",
    "read_sync",
    "with_deadline_backend",
]


class Deadline:
    """A point in time (``time.monotonic``) after which the current wait must stop; ``None``
    for no limit. Mutable: a stream moves it forward after each event."""

    __slots__ = ("at",)

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (may be negative), or ``None`` when unlimited."""
        return None if self.at is None else self.at - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.at is not None and time.monotonic() >= self.at

    def clamp(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left (raising ``httpcore.ReadTimeout`` when
        nothing is)."""
        left = self.remaining()
        if left is None:
            return timeout
        if left <= 0:
            raise httpcore.ReadTimeout("deadline exceeded")
        return left if timeout is None else min(timeout, left)


_active: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "igris_deadline", default=None
)


def attempt_seconds(timeout: httpx.Timeout) -> float | None:
    """The deadline of one attempt under ``timeout``: the number given to the client (all of
    an ``httpx.Timeout``'s phases equal it), or the largest phase of an ``httpx.Timeout``."""
    phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(phases) if phases else None


def _clamp(timeout: float | None) -> float | None:
    deadline = _active.get()
    return timeout if deadline is None else deadline.clamp(timeout)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A sync network backend whose streams never wait past the active :class:`Deadline`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _clamp(timeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def with_deadline_backend(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """``transport`` with its connection pool's network backend wrapped in a
    :class:`DeadlineBackend`. httpx does not take a network backend as an argument, so the
    pool's is replaced; a pool without one (another httpx version) is left as it is and the
    deadline is then checked between chunks only."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, DeadlineBackend):
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport


class _Active:
    """Makes ``deadline`` the active one for the sync reads made inside the block."""

    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def __enter__(self) -> None:
        self._token = _active.set(self._deadline)

    def __exit__(self, *exc: object) -> None:
        _active.reset(self._token)


def active(deadline: Deadline) -> _Active:
    """``with active(deadline): client.send(...)``: no read or write of the owned pool inside
    the block waits past ``deadline``."""
    return _Active(deadline)


def read_sync(chunks: Iterator[bytes], deadline: Deadline) -> Iterator[bytes]:
    """The chunks of a sync body, no read waiting past ``deadline`` (whose ``at`` may move
    between chunks); ``httpx.ReadTimeout`` once it has passed. ``chunks`` is closed at the
    end, however the reading ends."""
    try:
        while True:
            token = _active.set(deadline)
            try:
                chunk = next(chunks, None)
            finally:
                _active.reset(token)
            if chunk is None:
                return
            if deadline.expired():
                raise httpx.ReadTimeout("deadline exceeded")
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def read_async(
    chunks: AsyncIterator[bytes], deadline: Deadline
) -> AsyncGenerator[bytes, None]:
    """The chunks of an async body, no read waiting past ``deadline`` (whose ``at`` may move
    between chunks); ``httpx.ReadTimeout`` once it has passed. ``chunks`` is closed at the
    end, here rather than by the garbage collector's finaliser task."""
    try:
        while True:
            try:
                with anyio.fail_after(deadline.remaining()):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise httpx.ReadTimeout("deadline exceeded") from None
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
