"""The gateway middleware: what every request gets, whatever route it hits.

It gives each request its id (``X-Igris-Request-Id`` on every answer) and names the gateway
(``X-Igris-Gateway: local``), decodes the identity
headers, checks the key (401) and the declared body size (413), turns any unexpected exception
into a 500 protocol error body (never a traceback page), and writes the audit entry of every
call under ``/llm``. The entry is written just before the last byte of the answer is sent, or for
a stream before its terminal event (a client stops reading there), so a caller that has read the
answer always finds its entry.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igris_core import protocol
from igris_core.local_gateway._audit.request_log import log_entry
from igris_core.local_gateway._policy.auth import presented_keys
from igris_core.local_gateway._server.context import CONTEXT_SCOPE_KEY, RequestContext, new_context
from igris_core.local_gateway._server.routes import is_audit_page
from igris_core.local_gateway._server.state import GatewayState
from igris_core.local_gateway._wire.errors import GatewayError, StreamAbort
from igris_core.local_gateway._wire.sse import ends_stream

__all__ = ["GatewayMiddleware"]

logger = logging.getLogger("igris_core.local_gateway")

_REQUEST_ID = protocol.REQUEST_ID_HEADER.lower().encode("latin-1")
# Lets clients tell this gateway from a real one (docs/protocol.md, "Headers").
_GATEWAY = (protocol.GATEWAY_HEADER.lower().encode("latin-1"), protocol.LOCAL_GATEWAY.encode())
_CONTENT_LENGTH = b"content-length"

_MISSING_KEY = (
    f"missing API key: send '{protocol.AUTHORIZATION_HEADER}: Bearer <key>' or "
    f"'{protocol.API_KEY_HEADER}: <key>' (the gateway prints {protocol.ENV_API_KEY} when it starts)"
)
_UNKNOWN_KEY = (
    "unknown API key: this gateway does not accept it; if it was restarted, it may have "
    f"generated another key (see the {protocol.ENV_API_KEY} it printed, or fix the key with "
    "--api-key or the config's [keys])"
)


class GatewayMiddleware:
    """Wraps the Starlette app (inside Starlette's own error middleware)."""

    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app = app
        self.state = state

    def _record(self, ctx: RequestContext) -> None:
        if ctx.audited and not ctx.recorded:
            ctx.recorded = True
            entry = ctx.entry()
            self.state.audit.append(entry, ctx.ticket)
            log_entry(entry)

    def _precheck(self, scope: Scope, ctx: RequestContext) -> GatewayError | None:
        headers = scope.get("headers", [])
        keys = presented_keys(headers)
        for key in keys:
            ctx.key_id = self.state.key_id(key)
            if ctx.key_id is not None:
                break
        if ctx.key_id is None:
            return GatewayError(401, _UNKNOWN_KEY if keys else _MISSING_KEY, code="invalid_api_key")
        for name, value in headers:
            if name == _CONTENT_LENGTH:
                try:
                    declared = int(value)
                except ValueError:
                    return GatewayError(400, "invalid Content-Length header")
                if declared > self.state.max_body_bytes:
                    return GatewayError(
                        413, f"request body exceeds the limit of {self.state.max_body_bytes} bytes"
                    )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = new_context(scope, self.state.audit.ticket())
        scope[CONTEXT_SCOPE_KEY] = ctx
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                ctx.status = message["status"]
                headers = [
                    *message.get("headers", []),
                    (_REQUEST_ID, ctx.request_id.encode()),
                    _GATEWAY,
                ]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and (
                not message.get("more_body", False) or ends_stream(message.get("body", b""))
            ):
                self._record(ctx)
            await send(message)

        if is_audit_page(ctx.path):  # signs its callers in itself, and is not audited
            await self.app(scope, receive, send_wrapper)
            return
        try:
            error = self._precheck(scope, ctx)
            if error is not None:
                ctx.error_type = error.type
                await error.response()(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except StreamAbort:
            ctx.error_type = ctx.error_type or "stream_aborted"
            self._record(ctx)
            raise  # the server drops the connection: the client sees an incomplete body
        except Exception as exc:
            if started:  # too late for an error answer: drop the connection
                ctx.error_type = ctx.error_type or "server_error"
                self._record(ctx)
                raise
            logger.exception("unexpected error serving %s %s", ctx.method, ctx.path)
            error = GatewayError(
                500, f"internal error: {type(exc).__name__}", code="internal_error"
            )
            ctx.error_type = error.type
            await error.response()(scope, receive, send_wrapper)
        finally:
            self._record(ctx)  # a client that went away mid-answer still gets its entry
