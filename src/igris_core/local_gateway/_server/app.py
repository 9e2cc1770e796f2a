"""The Starlette application of a local gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from igris_core import protocol
from igris_core.local_gateway._audit.page import AuditPage
from igris_core.local_gateway._backends.forward import Forwarder
from igris_core.local_gateway._server.context import context_of
from igris_core.local_gateway._server.handlers import Handlers
from igris_core.local_gateway._server.middleware import GatewayMiddleware
from igris_core.local_gateway._server.routes import ROUTE_SHAPES, ROUTE_TEMPLATES
from igris_core.local_gateway._server.state import GatewayState
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["create_app"]


_ROUTE_HINT = (
    f"; routes: {', '.join(ROUTE_SHAPES)}. An OpenAI-compatible client takes "
    f"base_url=<gateway>{protocol.connection_prefix('<slug>')} and the model without the slug"
)


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    ctx = context_of(request)
    ctx.error_type, ctx.rule = exc.type, exc.rule
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no such route) and 405 (wrong method), in the protocol's shape.
    assert isinstance(exc, HTTPException)
    message = {404: "no such route", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    message = f"{message}: {request.method} {request.url.path}"
    if exc.status_code == 404:
        message += _ROUTE_HINT
    error = GatewayError(exc.status_code, message, headers=exc.headers)
    context_of(request).error_type = error.type
    return error.response()


def create_app(state: GatewayState) -> Starlette:
    """A gateway app serving ``state`` (its routes come from :mod:`igris_core.protocol`)."""
    handlers = Handlers(state, Forwarder())
    audit_page = AuditPage(state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await handlers.forwarder.aclose()

    routes = [
        Route(ROUTE_TEMPLATES["providers"], handlers.providers, methods=["GET"]),
        Route(ROUTE_TEMPLATES["chat"], handlers.chat, methods=["POST"]),
        Route(ROUTE_TEMPLATES["embeddings"], handlers.embeddings, methods=["POST"]),
        Route(ROUTE_TEMPLATES["messages"], handlers.messages, methods=["POST"]),
        Route("/", audit_page.root, methods=["GET"]),
        Route(protocol.LOCAL_AUDIT_PAGE_PATH, audit_page.page, methods=["GET"]),
        Route(protocol.LOCAL_AUDIT_LOGIN_PATH, audit_page.login, methods=["POST"]),
        Route(protocol.LOCAL_AUDIT_ENTRIES_PATH, audit_page.entries, methods=["GET"]),
        Route(protocol.LOCAL_AUDIT_ASSET_PATH, audit_page.asset, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(GatewayMiddleware, state=state)],
        exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
