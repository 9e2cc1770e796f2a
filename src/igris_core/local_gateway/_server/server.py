"""Running a gateway: a uvicorn server on a loopback socket, in a background thread
(:class:`LocalGateway`) or in the foreground (the CLI, through :func:`build_server`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from types import FrameType, TracebackType
from typing import Any

import anyio.to_thread
import uvicorn

from igris_core import protocol
from igris_core.local_gateway._audit.trail import AuditEntry, AuditStats
from igris_core.local_gateway._backends.scripted import ScriptedReply
from igris_core.local_gateway._config.settings import (
    DEFAULT_EMBEDDING_DIMENSIONS,
    BackendName,
    ConnectionConfig,
    DenyRule,
    GatewayConfig,
    RateLimitPer,
    RateLimitRule,
)
from igris_core.local_gateway._policy.faults import Fault
from igris_core.local_gateway._server.app import create_app
from igris_core.local_gateway._server.state import GatewayState
from igris_core.local_gateway._wire.errors import StreamAbort

__all__ = ["LocalGateway", "bind_socket", "build_server", "url_for"]

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 10.0
_GRACEFUL_SHUTDOWN = 2


class _DropDeliberateAborts(logging.Filter):
    """uvicorn logs every exception that ends a response; an injected stream cut is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        nested = getattr(exc, "exceptions", ())  # an exception group from a task group
        return not (isinstance(exc, StreamAbort) or any(isinstance(e, StreamAbort) for e in nested))


def _install_log_filter() -> None:
    target = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropDeliberateAborts) for f in target.filters):
        target.addFilter(_DropDeliberateAborts())


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free port (read it back from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP given explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


def url_for(sock: socket.socket) -> str:
    """``http://host:port`` of a listening socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _GatewayServer(uvicorn.Server):
    """uvicorn's server, telling the gateway's calls that it is stopping (Ctrl-C included)."""

    def __init__(self, config: uvicorn.Config, state: GatewayState) -> None:
        super().__init__(config)
        self.state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.state.closing.set()
        super().handle_exit(sig, frame)


def build_server(
    state: GatewayState, *, log_level: str = "warning", embedded: bool = True
) -> uvicorn.Server:
    """A uvicorn server for a gateway app. ``embedded`` leaves the process's logging setup alone
    (a library must not reconfigure its host's logging); the CLI passes ``False``."""
    _install_log_filter()
    options: dict[str, Any] = {"log_config": None} if embedded else {}
    config = uvicorn.Config(
        create_app(state),
        lifespan="on",
        log_level=log_level,
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        **options,
    )
    return _GatewayServer(config, state)


class LocalGateway:
    """An offline Igris gateway on ``127.0.0.1``, served from a background thread.

    Example::

        with LocalGateway() as gw:
            client = openai.OpenAI(base_url=gw.connection_url("openai-prod"), api_key=gw.api_key)
            client.chat.completions.create(model="gpt-4o", messages=[...])
            assert gw.audit[-1].status == 200

    Also ``async with LocalGateway() as gw`` (start and stop run in a worker thread, so the
    event loop is not blocked). Rules, keys, connections, scripted replies and faults can be
    added while it runs; :meth:`reset` returns to the configuration it started with.
    """

    def __init__(
        self, config: GatewayConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._state = GatewayState(config if config is not None else GatewayConfig())
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._lifecycle = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start serving (no-op when already running); returns once the port accepts calls."""
        with self._lifecycle:
            if self._thread is not None:
                return
            sock = bind_socket(self._host, self._port)
            self._state.closing.clear()
            server = build_server(self._state)
            thread = threading.Thread(
                target=server.run,
                kwargs={"sockets": [sock]},
                name="igris-local-gateway",
                daemon=True,
            )
            thread.start()
            deadline = time.monotonic() + _START_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = True
                    sock.close()
                    raise RuntimeError("the local gateway failed to start (see the log above)")
                time.sleep(0.005)
            self._server, self._thread, self._base_url = server, thread, url_for(sock)

    def stop(self) -> None:
        """Stop serving and wait for the server thread (no-op when not running)."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self._state.closing.set()
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():  # a client holds a stream open: stop waiting for it
                server.force_exit = True
                thread.join(_STOP_TIMEOUT)
            self._server = self._thread = self._base_url = None

    def __enter__(self) -> LocalGateway:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalGateway:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and test reports.
        where = self._base_url or "not running"
        slugs = [c.slug for c in self._state.config.connections]
        return f"LocalGateway({where}, connections={slugs})"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._base_url is not None

    # --- what callers read ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash); only while running."""
        if self._base_url is None:
            raise RuntimeError("the local gateway is not running: call start() or use `with`")
        return self._base_url

    def connection_url(self, slug: str) -> str:
        """The OpenAI-style base URL of a connection: ``{base_url}/llm/<slug>/v1``."""
        return self.base_url + protocol.connection_prefix(slug)

    @property
    def api_key(self) -> str:
        """A valid key: the configuration's first, or the generated ``ig_local_...`` one."""
        return self._state.primary_key

    @property
    def config(self) -> GatewayConfig:
        """The configuration the gateway started with."""
        return self._state.config

    @property
    def audit(self) -> list[AuditEntry]:
        """A snapshot of the audit trail, oldest first."""
        return self._state.audit.snapshot()

    @property
    def audit_stats(self) -> AuditStats:
        """Entries dropped from the audit ring buffer and unauthenticated calls, since the last
        :meth:`reset`."""
        return self._state.audit.stats

    # --- what callers change --------------------------------------------------------------------
    def reset(self) -> None:
        """Clear the audit trail, scripted queues, faults, rate-limit counts and every rule, key
        and connection added at run time: back to the starting configuration."""
        self._state.reset()

    def add_connection(
        self,
        slug: str,
        *,
        provider: str = "openai",
        backend: BackendName = "echo",
        upstream_base_url: str | None = None,
        upstream_api_key_env: str | None = None,
        embedding_dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS,
    ) -> ConnectionConfig:
        """Add (or replace) a connection."""
        connection = ConnectionConfig(
            slug,
            provider=provider,
            backend=backend,
            upstream_base_url=upstream_base_url,
            upstream_api_key_env=upstream_api_key_env,
            embedding_dimensions=embedding_dimensions,
        )
        self._state.add_connection(connection)
        return connection

    def add_key(self, key: str | None = None, *, key_id: str | None = None) -> str:
        """Accept one more key (generated when not given); returns it."""
        return self._state.add_key(key, key_id)

    def deny(
        self,
        name: str,
        *,
        key_id: str | None = None,
        user: str | None = None,
        connection: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
        pattern: str | None = None,
    ) -> DenyRule:
        """Add a deny rule: matching calls get 403 ``policy_denied`` with code ``name``."""
        rule = DenyRule(name, key_id, user, connection, model, metadata, pattern)
        self._state.add_deny_rule(rule)
        return rule

    def rate_limit(
        self,
        name: str,
        *,
        limit: int,
        window: float,
        per: RateLimitPer = "key",
        connection: str | None = None,
    ) -> RateLimitRule:
        """Add a rate limit: past ``limit`` calls per ``window`` seconds, 429 with Retry-After."""
        rule = RateLimitRule(name, limit, window, per, connection)
        self._state.add_rate_limit(rule)
        return rule

    def script(self, slug: str, *replies: ScriptedReply) -> None:
        """Queue canned answers for a connection; they are served before its backend answers."""
        self._state.enqueue(slug, replies)

    def inject_fault(self, slug: str, fault: Fault) -> None:
        """Add a fault to a connection; faults apply in the order they were injected."""
        self._state.inject_fault(slug, fault)
