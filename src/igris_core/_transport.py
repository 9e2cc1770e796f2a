"""HTTP transport for the clients: one connection pool per client, retries, typed errors and
DEBUG logging (method, path, status, request id, attempt, duration; never the key or bodies).

It knows nothing of chat or embeddings: it sends a prepared request and hands back the whole 2xx
:class:`~igris_core._answer.Answer` (read within the client's size limit and deadline), or a 2xx
streaming response left unread, or raises an :class:`IgrisError`. A retry that waits a second or
more is logged as a WARNING (status, wait, where the wait came from, the gateway's rule).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import anyio
import httpx

from igris_core import protocol
from igris_core._answer import (
    Answer,
    BodyDecoder,
    error_from_answer,
    raw_body,
    raw_body_async,
    too_large,
)
from igris_core._caller_pool import enter_loop
from igris_core._config import ClientOptions
from igris_core._deadline import Deadline, active, read_async, read_sync, with_deadline_backend
from igris_core._errors import (
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputTypeError,
    IgrisTimeoutError,
)
from igris_core._retries import parse_retry_after, retry_delay, should_retry_status

__all__ = [
    "AsyncTransport",
    "OpenedStream",
    "PreparedRequest",
    "SyncTransport",
    "secret_from_request",
    "transport_error",
]

logger = logging.getLogger("igris_core")

DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_LIMITS = httpx.Limits(max_connections=DEFAULT_MAX_CONNECTIONS, max_keepalive_connections=20)


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: the path under the base URL, headers and the JSON body."""

    method: str
    path: str
    headers: Mapping[str, str]
    content: bytes | None = None


class OpenedStream(NamedTuple):
    """A 2xx streaming answer whose body is still unread, and when its attempt started
    (``time.monotonic``): the stream's own deadlines count from there."""

    response: httpx.Response
    started: float


def secret_from_request(response: httpx.Response) -> str:
    """The API key the request of ``response`` carried (``Authorization: Bearer``), or ``""``:
    what to redact from a response handed in from outside a client."""
    try:
        auth = response.request.headers.get(protocol.AUTHORIZATION_HEADER, "")
    except RuntimeError:  # a response built by hand has no request
        return ""
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, without any user info it may hold."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def transport_error(exc: httpx.HTTPError, where: str) -> IgrisError:
    """The typed error for a request that got no (complete) answer; ``where`` names the method
    and URL, so that a wrong host or base URL shows."""
    cls = IgrisTimeoutError if isinstance(exc, httpx.TimeoutException) else IgrisConnectionError
    detail = str(exc) or type(exc).__name__
    return cls(f"{type(exc).__name__} on {where}: {detail}")


class _Reader:
    """Reads one answer's body within its limit: ``max_response_bytes`` for a 2xx answer (then
    :class:`~igris_core.IgrisResponseTooLargeError`), the first
    :data:`~igris_core.protocol.ERROR_BODY_MAX_BYTES` of an error answer (the rest is left
    unread). Decoded bytes are counted as they are inflated."""

    __slots__ = ("_decoder", "_limit", "_ok", "_options", "_parts", "_response", "_size")

    def __init__(
        self, response: httpx.Response, options: ClientOptions, content_encoding: str | None
    ) -> None:
        self._response = response
        self._options = options
        self._ok = _is_success(response.status_code)
        self._limit = options.max_response_bytes if self._ok else protocol.ERROR_BODY_MAX_BYTES
        self._parts: list[bytes] = []
        self._size = 0
        self._decoder: BodyDecoder | None = None
        try:
            self._decoder = BodyDecoder(content_encoding)
        except ValueError as exc:
            if self._ok:
                raise self._undecodable(exc) from None
            # An error answer is typed by its status: its body is then left out.

    def _undecodable(self, exc: ValueError) -> IgrisDecodeError:
        return IgrisDecodeError(
            f"{exc} (HTTP {self._response.status_code})",
            status_code=self._response.status_code,
            request_id=self._response.headers.get(protocol.REQUEST_ID_HEADER),
        )

    def add(self, raw: bytes) -> bool:
        """Take one raw chunk; ``False`` once enough of an error body was read."""
        if self._decoder is None:
            return False
        try:
            for piece in self._decoder.decode(raw):
                self._size += len(piece)
                if self._size > self._limit:
                    if self._ok:
                        raise too_large(
                            self._limit,
                            self._response.status_code,
                            self._response.headers,
                            b"".join(self._parts)[: protocol.ERROR_BODY_MAX_BYTES],
                            self._options.redact,
                        )
                    self._parts.append(piece[: len(piece) - (self._size - self._limit)])
                    return False
                self._parts.append(piece)
        except ValueError as exc:
            if self._ok:
                raise self._undecodable(exc) from None
            return False
        return True

    def answer(self) -> Answer:
        """The answer read so far."""
        response = self._response
        return Answer(
            response.status_code,
            response.reason_phrase,
            response.headers,
            b"".join(self._parts),
            self._options.redact,
            truncated=self._size > self._limit,
        )


class _Attempts:
    """Retry bookkeeping shared by the sync and async loops."""

    __slots__ = ("attempt", "base_url", "max_retries", "method", "path", "started")

    def __init__(self, req: PreparedRequest, options: ClientOptions) -> None:
        self.attempt = 0
        self.max_retries = options.max_retries
        self.method = req.method
        self.path = req.path
        self.base_url = options.base_url
        self.started = 0.0

    @property
    def where(self) -> str:
        """Method and URL, for messages (built only when one is written)."""
        return f"{self.method} {_origin(self.base_url)}{self.path}"

    def start(self) -> None:
        self.started = time.perf_counter()

    def log(self, status: object, request_id: str | None) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s request_id=%s attempt=%d duration=%.3fs",
                self.method,
                self.path,
                status,
                request_id,
                self.attempt + 1,
                time.perf_counter() - self.started,
            )

    def _wait(self, retry_after: float | None, what: str, rule: str | None) -> float:
        """The delay before the next attempt. A wait of a second or more is logged as a
        WARNING, so that a stalled call is never silent."""
        self.attempt += 1
        delay = retry_delay(self.attempt - 1, retry_after)
        if delay >= 1.0:
            source = "the Retry-After header" if retry_after is not None else "backoff"
            logger.warning(
                "%s: %s; retry %d of %d in %.1f s (wait from %s)%s",
                self.where,
                what,
                self.attempt,
                self.max_retries,
                delay,
                source,
                f"; gateway rule {rule!r}" if rule else "",
            )
        return delay

    def after_transport_error(self, exc: httpx.HTTPError) -> float:
        """Delay before the next attempt, or raise the typed error when out of attempts."""
        err = transport_error(exc, self.where)
        self.log(type(exc).__name__, None)
        if self.attempt >= self.max_retries:
            raise err from exc
        return self._wait(None, f"no answer ({type(exc).__name__})", None)

    def after_error_answer(self, answer: Answer) -> float:
        """Delay before the next attempt, or raise the typed error (4xx, or out of attempts)."""
        err = error_from_answer(answer)
        self.log(answer.status_code, err.request_id)
        if not should_retry_status(answer.status_code) or self.attempt >= self.max_retries:
            raise err
        return self._wait(parse_retry_after(answer.headers), f"HTTP {answer.status_code}", err.code)

    def broken(self, exc: httpx.HTTPError) -> IgrisError:
        """The error for an answer whose body broke off (never retried: the request may have
        been processed)."""
        self.log(type(exc).__name__, None)
        return transport_error(exc, self.where)

    def ok(self, response: httpx.Response) -> None:
        self.log(response.status_code, response.headers.get(protocol.REQUEST_ID_HEADER))


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def _closed() -> IgrisConnectionError:
    return IgrisConnectionError(
        "this Igris client is closed (close() was called or its with-block ended); create a "
        "new client"
    )


class SyncTransport:
    """Sends prepared requests over one ``httpx.Client`` (the caller's, or one it owns).

    An owned pool is created on first use: building an SSL context costs tens of
    milliseconds, which a client (or a framework model) that is never called should not pay.
    Its network backend enforces each attempt's deadline on every socket read and write
    (:mod:`igris_core._deadline`); over a caller's ``httpx.Client`` the deadline is checked
    between body chunks. An owned pool inherited through ``fork`` is left to the parent (its
    sockets and SSL state are the parent's): the child opens its own.
    """

    def __init__(
        self, http_client: httpx.Client | None = None, limits: httpx.Limits = DEFAULT_LIMITS
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise IgrisInputTypeError(
                f"invalid http_client {http_client!r}: expected an httpx.Client"
            )
        self.owns_client = http_client is None
        self._client = http_client
        self._limits = limits
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    @property
    def client(self) -> httpx.Client:
        """The pool (created on first use when the caller brought none)."""
        client = self._client
        if client is None or self._pid != os.getpid():
            client = self._new_pool()
        return client

    def _new_pool(self) -> httpx.Client:
        if self._pid != os.getpid() and self.owns_client:
            # Forked: the parent's pool is dropped unclosed (closing it would shut the
            # parent's sockets), and its lock may have been held by a thread that is not here.
            self._lock = threading.Lock()
            self._client = None
            self._pid = os.getpid()
        with self._lock:
            if self._client is None:
                transport = with_deadline_backend(httpx.HTTPTransport(limits=self._limits))
                self._client = httpx.Client(transport=transport, follow_redirects=False)
            return self._client

    def _open_client(self) -> httpx.Client:
        if self._closed:
            raise _closed()
        client = self.client
        if client.is_closed:
            if not self.owns_client:
                raise _closed()
            with self._lock:  # an owned pool closed behind our back: open another
                if self._client is client:
                    self._client = None
            client = self.client
        return client

    def request(self, options: ClientOptions, req: PreparedRequest) -> Answer:
        """Send with retries; the whole 2xx answer (within ``max_response_bytes``) or a
        typed error."""
        result = self._send(options, req, stream=False)
        assert isinstance(result, Answer)
        return result

    def open_stream(self, options: ClientOptions, req: PreparedRequest) -> OpenedStream:
        """Send with retries; a 2xx answer whose body is left to read, or a typed error."""
        result = self._send(options, req, stream=True)
        assert isinstance(result, OpenedStream)
        return result

    def _send(
        self, options: ClientOptions, req: PreparedRequest, *, stream: bool
    ) -> Answer | OpenedStream:
        attempts = _Attempts(req, options)
        url = options.base_url + req.path
        client = self._open_client()
        while True:
            request = client.build_request(
                req.method, url, headers=req.headers, content=req.content, timeout=options.timeout
            )
            attempts.start()
            started = time.monotonic()
            deadline = Deadline(options.attempt_seconds)
            try:
                with active(deadline):
                    response = client.send(request, stream=True, follow_redirects=False)
            except httpx.HTTPError as exc:
                time.sleep(attempts.after_transport_error(exc))
                continue
            if stream and _is_success(response.status_code):
                attempts.ok(response)
                return OpenedStream(response, started)
            try:
                chunks, encoding = raw_body(response)
                reader = _Reader(response, options, encoding)
                for raw in read_sync(chunks, deadline):
                    if not reader.add(raw):
                        break
            except httpx.HTTPError as exc:
                raise attempts.broken(exc) from exc
            finally:
                response.close()
            answer = reader.answer()
            if _is_success(answer.status_code):
                attempts.ok(response)
                return answer
            time.sleep(attempts.after_error_answer(answer))

    def close(self) -> None:
        """Close the pool if this transport created it; any later request is refused."""
        if self.owns_client:
            self._closed = True
            # Never an inherited pool: closing it would end the parent's TLS sessions.
            if self._client is not None and self._pid == os.getpid():
                self._client.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _LoopPool(NamedTuple):
    """An event loop's pool, and the slots its whole requests wait for."""

    client: httpx.AsyncClient
    slots: anyio.Semaphore | None


class AsyncTransport:
    """Sends prepared requests over an ``httpx.AsyncClient`` (the caller's, or pools it owns),
    created on first use like :class:`SyncTransport`'s. Each attempt's deadline is enforced
    with ``anyio.fail_after``.

    Requests beyond the pool's size wait for a free connection before they are sent; their
    timeout starts once they have one. An owned pool belongs to the event loop that opened its
    connections, so each running loop gets a pool of its own (two threads with a loop each
    keep theirs), kept while the loop lives: a closed loop's pool is let go when another loop
    opens one (its connections cannot be closed without their loop), and a collected loop's
    goes with it. A forked child opens its own pools, leaving the parent's sockets alone.
    """

    def __init__(
        self, http_client: httpx.AsyncClient | None = None, limits: httpx.Limits = DEFAULT_LIMITS
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise IgrisInputTypeError(
                f"invalid http_client {http_client!r}: expected an httpx.AsyncClient"
            )
        self.owns_client = http_client is None
        self._caller_pool = None if http_client is None else _LoopPool(http_client, None)
        self._limits = limits
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool]
        self._pools = weakref.WeakKeyDictionary()
        self._outside_asyncio: _LoopPool | None = None  # trio, or no running loop
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed_on: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._closed = False

    @property
    def client(self) -> httpx.AsyncClient:
        """The pool of the running event loop (created on first use when the caller brought
        none)."""
        return self._pool().client

    def _pool(self) -> _LoopPool:
        if self._caller_pool is not None:
            enter_loop(self._caller_pool.client)  # it may hold a closed loop's connections
            return self._caller_pool
        loop = _running_loop()
        if self._pid != os.getpid():
            self._forget_parent_pools()
        pool = self._outside_asyncio if loop is None else self._pools.get(loop)
        if pool is None:
            pool = self._new_pool(loop)
        return pool

    def _new_pool(self, loop: asyncio.AbstractEventLoop | None) -> _LoopPool:
        pool = _LoopPool(
            httpx.AsyncClient(limits=self._limits, follow_redirects=False),
            # httpcore rescans its whole queue of waiting requests for every connection it
            # hands out (quadratic: 1,000 concurrent calls took 28 s); requests wait for a
            # slot here instead, so its queue never outgrows the pool.
            anyio.Semaphore(self._limits.max_connections or DEFAULT_MAX_CONNECTIONS),
        )
        with self._lock:  # another thread's loop may be adding its own
            if loop is None:
                current = self._outside_asyncio
                if current is None or current.client.is_closed:
                    self._outside_asyncio = current = pool
                return current
            # Closed loops' pools are let go (their connections reference the loop, so a
            # pool left here would keep its loop from being collected).
            for old in [old for old in self._pools if old.is_closed()]:
                self._pools.pop(old, None)
            current = self._pools.get(loop)
            if current is None or current.client.is_closed:
                self._pools[loop] = current = pool
            return current

    def _forget_parent_pools(self) -> None:
        """In a forked child: drop the parent's pools unclosed (closing them would shut the
        parent's sockets); the lock may have been held by a thread the child does not have."""
        self._lock = threading.Lock()
        self._pools = weakref.WeakKeyDictionary()
        self._outside_asyncio = None
        self._pid = os.getpid()

    def _open_pool(self) -> _LoopPool:
        if self._closed:
            closed_on = self._closed_on() if self._closed_on is not None else None
            if not self.owns_client or closed_on is None or closed_on is _running_loop():
                raise _closed()
            # A pool belongs to one event loop; close() closed that loop's. A client used from
            # a new loop gets a new pool, as it always has.
            self._closed = False
        pool = self._pool()
        if pool.client.is_closed:
            if not self.owns_client:
                raise _closed()
            pool = self._new_pool(_running_loop())  # an owned pool closed behind our back
        return pool

    async def request(self, options: ClientOptions, req: PreparedRequest) -> Answer:
        """Send with retries; the whole 2xx answer (within ``max_response_bytes``) or a
        typed error."""
        result = await self._send(options, req, stream=False)
        assert isinstance(result, Answer)
        return result

    async def open_stream(self, options: ClientOptions, req: PreparedRequest) -> OpenedStream:
        """Send with retries; a 2xx answer whose body is left to read, or a typed error."""
        result = await self._send(options, req, stream=True)
        assert isinstance(result, OpenedStream)
        return result

    async def _send(
        self, options: ClientOptions, req: PreparedRequest, *, stream: bool
    ) -> Answer | OpenedStream:
        attempts = _Attempts(req, options)
        url = options.base_url + req.path
        client, slots = self._open_pool()
        # A stream keeps its connection after send() returns, so only whole requests queue here.
        slots = None if stream else slots
        while True:
            request = client.build_request(
                req.method, url, headers=req.headers, content=req.content, timeout=options.timeout
            )
            if slots is None:
                outcome = await self._attempt(client, request, options, stream, attempts)
            else:
                async with slots:
                    outcome = await self._attempt(client, request, options, stream, attempts)
            if isinstance(outcome, Answer | OpenedStream):
                return outcome
            await anyio.sleep(outcome)

    @staticmethod
    async def _attempt(
        client: httpx.AsyncClient,
        request: httpx.Request,
        options: ClientOptions,
        stream: bool,
        attempts: _Attempts,
    ) -> Answer | OpenedStream | float:
        """One attempt: the answer, or the delay before the next attempt (or raise)."""
        attempts.start()
        started = time.monotonic()
        deadline = Deadline(options.attempt_seconds)
        try:
            with anyio.fail_after(deadline.remaining()):
                response = await client.send(request, stream=True, follow_redirects=False)
        except TimeoutError:
            return attempts.after_transport_error(httpx.ReadTimeout("deadline exceeded"))
        except httpx.HTTPError as exc:
            return attempts.after_transport_error(exc)
        if stream and _is_success(response.status_code):
            attempts.ok(response)
            return OpenedStream(response, started)
        try:
            chunks, encoding = raw_body_async(response)
            reader = _Reader(response, options, encoding)
            async for raw in read_async(chunks, deadline):
                if not reader.add(raw):
                    break
        except httpx.HTTPError as exc:
            raise attempts.broken(exc) from exc
        finally:
            await response.aclose()
        answer = reader.answer()
        if _is_success(answer.status_code):
            attempts.ok(response)
            return answer
        return attempts.after_error_answer(answer)

    async def aclose(self) -> None:
        """Close the running loop's pool if this transport created it (the other loops' pools
        are let go: they can only be closed on their own loops); later requests on this loop
        are refused."""
        if not self.owns_client:
            return
        loop = _running_loop()
        with self._lock:
            pool = self._outside_asyncio if loop is None else self._pools.get(loop)
            self._pools = weakref.WeakKeyDictionary()
            self._outside_asyncio = None
            self._closed = True
            self._closed_on = weakref.ref(loop) if loop is not None else None
        if pool is not None:
            await pool.client.aclose()
