"""HTTP transport for the clients: one connection pool per client, retries, typed errors and
DEBUG logging (method, path, status, request id, attempt, duration; never the key or bodies).

It knows nothing of chat or embeddings: it sends a prepared request and hands back a 2xx
``httpx.Response`` (body read, or unread for streams), or raises an :class:`IgrisError`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from igris_core import protocol
from igris_core._caller_pool import enter_loop
from igris_core._config import ClientOptions
from igris_core.errors import (
    IgrisConnectionError,
    IgrisError,
    IgrisInputTypeError,
    IgrisRateLimitError,
    IgrisTimeoutError,
)
from igris_core.retries import parse_retry_after, retry_delay, should_retry_status

__all__ = [
    "AsyncTransport",
    "PreparedRequest",
    "SyncTransport",
    "error_from_response",
    "redact",
    "secret_of",
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


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret and secret in text else text


def secret_of(response: httpx.Response) -> str:
    """The API key the request of ``response`` carried (``Authorization: Bearer``), or ``""``."""
    try:
        auth = response.request.headers.get(protocol.AUTHORIZATION_HEADER, "")
    except RuntimeError:  # a response built by hand has no request
        return ""
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def redact(text: str, response: httpx.Response) -> str:
    """``text`` with the API key of ``response``'s request replaced by ``***``: a server (or a
    proxy) may echo the key back, and no error message may hold it (docs/protocol.md,
    "Errors")."""
    return _redact(text, secret_of(response))


def error_from_response(response: httpx.Response, secret: str = "") -> IgrisError:
    """The typed error for a non-2xx answer (docs/protocol.md, "Errors"). The body must be
    read."""
    status = response.status_code
    text = _redact(response.text, secret)
    parsed: Any = None
    message = type_ = code = None
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
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
        message = f"HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else "")
    cls = protocol.error_class_for_status(status)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "request_id": response.headers.get(protocol.REQUEST_ID_HEADER),
        "response": parsed,
        "body": text,
        "type": type_ if isinstance(type_, str) else None,
        "code": None if code is None else str(code),
    }
    if issubclass(cls, IgrisRateLimitError):
        return cls(message, retry_after=parse_retry_after(response.headers), **kwargs)
    return cls(message, **kwargs)


def transport_error(exc: httpx.HTTPError, method: str, path: str) -> IgrisError:
    """The typed error for a request that got no (complete) answer."""
    cls = IgrisTimeoutError if isinstance(exc, httpx.TimeoutException) else IgrisConnectionError
    detail = str(exc) or type(exc).__name__
    return cls(f"{type(exc).__name__} on {method} {path}: {detail}")


class _Attempts:
    """Retry bookkeeping shared by the sync and async loops."""

    __slots__ = ("attempt", "max_retries", "method", "path", "secret", "started")

    def __init__(self, req: PreparedRequest, max_retries: int, secret: str) -> None:
        self.attempt = 0
        self.max_retries = max_retries
        self.method = req.method
        self.path = req.path
        self.secret = secret
        self.started = 0.0

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

    def after_transport_error(self, exc: httpx.HTTPError) -> float:
        """Delay before the next attempt, or raise the typed error when out of attempts."""
        err = transport_error(exc, self.method, self.path)
        self.log(type(exc).__name__, None)
        if self.attempt >= self.max_retries:
            raise err from exc
        self.attempt += 1
        return retry_delay(self.attempt - 1, None)

    def after_error_response(self, response: httpx.Response) -> float:
        """Delay before the next attempt, or raise the typed error (4xx, or out of attempts)."""
        err = error_from_response(response, self.secret)
        self.log(response.status_code, err.request_id)
        if not should_retry_status(response.status_code) or self.attempt >= self.max_retries:
            raise err
        self.attempt += 1
        return retry_delay(self.attempt - 1, parse_retry_after(response.headers))

    def ok(self, response: httpx.Response) -> httpx.Response:
        self.log(response.status_code, response.headers.get(protocol.REQUEST_ID_HEADER))
        return response


def _is_success(status: int) -> bool:
    return 200 <= status < 300


class SyncTransport:
    """Sends prepared requests over one ``httpx.Client`` (the caller's, or one it owns).

    An owned pool is created on first use: building an SSL context costs tens of
    milliseconds, which a client (or a framework model) that is never called should not pay.
    """

    def __init__(self, http_client: httpx.Client | None = None) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise IgrisInputTypeError(
                f"invalid http_client {http_client!r}: expected an httpx.Client"
            )
        self.owns_client = http_client is None
        self._client = http_client
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The pool (created on first use when the caller brought none)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(limits=DEFAULT_LIMITS, follow_redirects=False)
                client = self._client
        return client

    def send(
        self, options: ClientOptions, req: PreparedRequest, *, stream: bool = False
    ) -> httpx.Response:
        """Send with retries; a 2xx response (body read unless ``stream``) or a typed error."""
        attempts = _Attempts(req, options.max_retries, options.api_key.get_secret_value())
        url = options.base_url + req.path
        timeout = options.timeout
        client = self.client
        while True:
            request = client.build_request(
                req.method, url, headers=req.headers, content=req.content, timeout=timeout
            )
            attempts.start()
            try:
                response = client.send(request, stream=True, follow_redirects=False)
            except httpx.HTTPError as exc:
                time.sleep(attempts.after_transport_error(exc))
                continue
            try:
                if not stream or not _is_success(response.status_code):
                    response.read()
            except httpx.HTTPError as exc:
                response.close()
                attempts.log(type(exc).__name__, None)
                raise transport_error(exc, req.method, req.path) from exc
            if _is_success(response.status_code):
                return attempts.ok(response)
            response.close()
            time.sleep(attempts.after_error_response(response))

    def close(self) -> None:
        """Close the pool if this transport created it."""
        if self.owns_client and self._client is not None:
            self._client.close()


class AsyncTransport:
    """Sends prepared requests over one ``httpx.AsyncClient`` (the caller's, or one it owns),
    created on first use like :class:`SyncTransport`'s.

    Requests beyond the pool's size wait for a free connection before they are sent; their
    timeout starts once they have one. An owned pool belongs to the event loop that opened its
    connections. When the client is used from another loop (``asyncio.run`` per call, as
    LlamaIndex and many scripts do), a new pool is opened for that loop and the old one is let
    go: reusing it would fail on a closed loop, and keeping one per loop would keep every old
    loop's connections open.
    """

    def __init__(self, http_client: httpx.AsyncClient | None = None) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise IgrisInputTypeError(
                f"invalid http_client {http_client!r}: expected an httpx.AsyncClient"
            )
        self.owns_client = http_client is None
        self._client = http_client
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._slots: anyio.Semaphore | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The pool of the running event loop (created on first use when the caller brought
        none)."""
        if not self.owns_client:
            assert self._client is not None
            enter_loop(self._client)  # the caller's pool may hold a closed loop's connections
            return self._client
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # not in asyncio (trio, or a sync caller): one pool
            loop = None
        current = self._loop() if self._loop is not None else None
        if self._client is None or (loop is not None and current is not loop):
            # No await in between: no race within one event loop.
            self._client = httpx.AsyncClient(limits=DEFAULT_LIMITS, follow_redirects=False)
            self._loop = weakref.ref(loop) if loop is not None else None
            # httpcore rescans its whole queue of waiting requests for every connection it
            # hands out (quadratic: 1,000 concurrent calls took 28 s); requests wait for a
            # slot here instead, so its queue never outgrows the pool.
            self._slots = anyio.Semaphore(DEFAULT_MAX_CONNECTIONS)
        return self._client

    async def send(
        self, options: ClientOptions, req: PreparedRequest, *, stream: bool = False
    ) -> httpx.Response:
        """Send with retries; a 2xx response (body read unless ``stream``) or a typed error."""
        attempts = _Attempts(req, options.max_retries, options.api_key.get_secret_value())
        url = options.base_url + req.path
        timeout = options.timeout
        client = self.client
        # A stream keeps its connection after send() returns, so only whole requests queue here.
        slots = None if stream else self._slots
        while True:
            request = client.build_request(
                req.method, url, headers=req.headers, content=req.content, timeout=timeout
            )
            if slots is None:
                outcome = await self._attempt(client, request, stream, attempts)
            else:
                async with slots:
                    outcome = await self._attempt(client, request, stream, attempts)
            if isinstance(outcome, httpx.Response):
                return outcome
            await anyio.sleep(outcome)

    @staticmethod
    async def _attempt(
        client: httpx.AsyncClient, request: httpx.Request, stream: bool, attempts: _Attempts
    ) -> httpx.Response | float:
        """One attempt: the 2xx response, or the delay before the next attempt (or raise)."""
        attempts.start()
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            return attempts.after_transport_error(exc)
        try:
            if not stream or not _is_success(response.status_code):
                await response.aread()
        except httpx.HTTPError as exc:
            await response.aclose()
            attempts.log(type(exc).__name__, None)
            raise transport_error(exc, attempts.method, attempts.path) from exc
        if _is_success(response.status_code):
            return attempts.ok(response)
        await response.aclose()
        return attempts.after_error_response(response)

    async def aclose(self) -> None:
        """Close the pool if this transport created it."""
        if self.owns_client and self._client is not None:
            await self._client.aclose()
