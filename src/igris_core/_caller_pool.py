"""A caller's own ``httpx.AsyncClient`` used from one event loop after another.

An asyncio connection belongs to the loop that opened it. Once that loop is closed (one
``asyncio.run`` per question, as LlamaIndex's sync wrappers and many scripts do), a kept-alive
connection left in the caller's pool takes the next request on the new loop, writes it, and then
fails with "Event loop is closed": the gateway answered, the caller got an error, and a retry
would have sent the request twice. So before a caller's client serves a new loop, the connections
of its previous, closed loop are taken out of its pools (their sockets are released when
collected). httpx offers no public way to drop pooled connections, so this reaches into its pools;
should those internals change, nothing is dropped, as before.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

import httpcore
import httpx

__all__ = ["enter_loop"]

_last_loop: weakref.WeakKeyDictionary[httpx.AsyncClient, weakref.ref[asyncio.AbstractEventLoop]]
_last_loop = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def enter_loop(client: httpx.AsyncClient) -> None:
    """Note that ``client`` is about to serve the running event loop; when the loop it served
    before is closed, drop the connections it left in the client's pools."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # trio, or no loop: nothing is bound to an asyncio loop
        return
    with _lock:
        ref = _last_loop.get(client)
        previous = ref() if ref is not None else None
        if previous is loop:
            return
        _last_loop[client] = weakref.ref(loop)
    if ref is not None and (previous is None or previous.is_closed()):
        _drop_connections(client)


def _drop_connections(client: httpx.AsyncClient) -> None:
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        connections = getattr(pool, "_connections", None)
        if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(connections, list):
            connections.clear()  # no await in between: no other task of this loop sees them
