"""Helpers of the reliability suite: reading the gateway's audit trail, tiny loopback servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from igris_core.local_gateway import AuditEntry, LocalGateway


def audit_after(gw: LocalGateway, expected: int, *, timeout: float = 5.0) -> list[AuditEntry]:
    """The audit trail once it holds at least ``expected`` entries (a timed-out call is
    recorded when the gateway finishes answering it, after the client gave up), or as it is
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    entries = gw.audit
    while len(entries) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
        entries = gw.audit
    return entries


def statuses(entries: list[AuditEntry]) -> list[int]:
    """The HTTP status of each entry."""
    return [e.status for e in entries]


@dataclass
class Seen:
    """What a tiny server received: one (method, path, headers) per request."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    connections: int = 0


Reply = Callable[[BaseHTTPRequestHandler, Seen], None]


@contextmanager
def tiny_server(reply: Reply, host: str = "127.0.0.1") -> Iterator[tuple[str, Seen]]:
    """An HTTP/1.1 server on loopback answering every request with ``reply``; yields its base
    URL and what it saw."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.requests.append((self.command, self.path, dict(self.headers.items())))
            reply(self, seen)

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """Write a whole answer."""
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def dropping_server() -> Iterator[tuple[str, Seen]]:
    """A TCP server that accepts each connection, reads the request, and closes it without a
    byte of answer (a proxy or server dying mid-request)."""
    seen = Seen()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            seen.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(65536)
                    if data:
                        seen.requests.append(("?", "?", {}))
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()
