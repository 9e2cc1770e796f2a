"""A hostile HTTP/1.1 server on 127.0.0.1, one per test case: the case's script writes whatever
bytes it likes on the socket (trickled headers, bombs, streams that never end).

Each connection runs in a daemon thread; leaving the ``with`` block sets ``stop`` (scripts that
loop must watch it) and closes every socket, so a case cannot outlive its test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What the client sent: method, path, headers (lower-case names) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """A running server: its base URL, what it received, and the stop flag scripts watch."""

    base_url: str
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


Script = Callable[[socket.socket, Request, Server], None]


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


@contextlib.contextmanager
def hostile_server(script: Script) -> Iterator[Server]:
    """Serve every request with ``script(conn, request, server)``; one request per connection
    (the script decides when, or whether, to close)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server = Server(f"http://127.0.0.1:{listener.getsockname()[1]}")
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            request = _read_request(conn)
            if request is not None:
                server.requests.append(request)
                script(conn, request, server)

    def accept() -> None:
        while not server.stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def head(status: int, length: int | None = None, **headers: str) -> bytes:
    """A status line and headers (``Content-Type`` JSON unless given; ``Content-Length`` when
    ``length`` is given). ``Connection: close`` unless given: the server answers one request per
    connection, and a client must not race its close by reusing the connection."""
    lines = [f"HTTP/1.1 {status} Whatever"]
    merged = {"Content-Type": "application/json", "Connection": "close", **headers}
    if length is not None:
        merged["Content-Length"] = str(length)
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(conn: socket.socket, status: int, body: bytes | Any, **headers: str) -> None:
    """Write a whole answer (``body`` bytes, or any JSON value)."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    conn.sendall(head(status, len(body), **headers) + body)


def trickle(conn: socket.socket, data: bytes, every: float, server: Server) -> None:
    """Send ``data`` one byte every ``every`` seconds (until the server stops)."""
    for index in range(len(data)):
        if server.stop.wait(every):
            return
        conn.sendall(data[index : index + 1])


def sse_head() -> bytes:
    """The head of an event stream that ends when the connection closes."""
    return head(200, **{"Content-Type": "text/event-stream"})


def hold_open(server: Server, seconds: float = 30.0) -> None:
    """Keep the connection open (until the server stops)."""
    server.stop.wait(seconds)


def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll ``predicate`` for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
