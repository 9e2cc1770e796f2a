"""The audit page: the audit trail live in a browser, and the same entries as JSON for scripts.

``GET /audit`` shows a sign-in form until the browser holds the gateway's session cookie
(``POST /audit/login`` with one of the gateway's keys sets it: HttpOnly, SameSite=Strict, host
only, path ``/audit``); then the page, which polls ``GET /audit/entries`` (also open to scripts
with the usual ``Authorization: Bearer <key>``). Every asset is served from the package: the page
works without any network access.
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from igris_core import protocol
from igris_core.local_gateway._audit.view import DEFAULT_LIMIT, AuditFilter, entries_json
from igris_core.local_gateway._policy.auth import presented_keys
from igris_core.local_gateway._server.state import GatewayState
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["AuditPage"]

COOKIE_NAME = "igris_audit"
_ASSETS = {"audit.css": "text/css; charset=utf-8", "audit.js": "text/javascript; charset=utf-8"}
_ASSET_PREFIX = protocol.LOCAL_AUDIT_ASSET_PATH.rsplit("/", 1)[0]
_MAX_FORM_BYTES = 4096
_NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=8)
def _resource(name: str) -> str:
    folder = resources.files("igris_core.local_gateway._audit").joinpath("static")
    return folder.joinpath(name).read_text(encoding="utf-8")


def _html(name: str, **values: str) -> str:
    text = _resource(name)
    replacements = {
        "@ASSETS@": _ASSET_PREFIX,
        "@ENTRIES@": protocol.LOCAL_AUDIT_ENTRIES_PATH,
        "@LOGIN@": protocol.LOCAL_AUDIT_LOGIN_PATH,
        "@MESSAGE@": values.get("message", ""),
    }
    for marker, value in replacements.items():
        text = text.replace(marker, value)
    return text


class AuditPage:
    """The handlers of the audit page for one gateway."""

    def __init__(self, state: GatewayState) -> None:
        self.state = state
        # One random session value per gateway process: the cookie never carries a key.
        self._session = secrets.token_urlsafe(32)

    def _signed_in(self, request: Request) -> bool:
        cookie = request.cookies.get(COOKIE_NAME, "")
        if cookie and hmac.compare_digest(cookie.encode(), self._session.encode()):
            return True
        return any(self.state.key_id(k) is not None for k in presented_keys(request.headers.raw))

    async def root(self, request: Request) -> Response:
        """``GET /``: to the audit page."""
        return RedirectResponse(protocol.LOCAL_AUDIT_PAGE_PATH, status_code=303)

    async def page(self, request: Request) -> Response:
        """``GET /audit``: the page, or its sign-in form."""
        if not self._signed_in(request):
            return HTMLResponse(_html("login.html"), headers=_NO_STORE)
        return HTMLResponse(_html("page.html"), headers=_NO_STORE)

    async def login(self, request: Request) -> Response:
        """``POST /audit/login``: a key in a form; sets the session cookie when it is valid."""
        raw = b""
        async for part in request.stream():
            raw += part
            if len(raw) > _MAX_FORM_BYTES:
                break
        key = parse_qs(raw[:_MAX_FORM_BYTES].decode("utf-8", "replace")).get("key", [""])[0]
        if not key or self.state.key_id(key.strip()) is None:
            message = "This gateway does not accept that key (was it restarted with another?)."
            return HTMLResponse(_html("login.html", message=message), status_code=401)
        response = RedirectResponse(protocol.LOCAL_AUDIT_PAGE_PATH, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            self._session,
            path=protocol.LOCAL_AUDIT_PAGE_PATH,
            httponly=True,
            samesite="strict",
        )
        return response

    async def entries(self, request: Request) -> Response:
        """``GET /audit/entries``: the filtered entries as JSON (newest first)."""
        if not self._signed_in(request):
            raise GatewayError(401, "sign in on the audit page or send a key of this gateway")
        params = request.query_params
        try:
            audit_filter = AuditFilter.from_query(params)
            after = int(params.get("after", "0"))
            limit = int(params.get("limit", str(DEFAULT_LIMIT)))
        except ValueError as exc:
            raise GatewayError(400, f"invalid audit query: {exc}") from None
        payload = entries_json(self.state.audit, audit_filter, after=after, limit=limit)
        return JSONResponse(payload, headers=_NO_STORE)

    async def asset(self, request: Request) -> Response:
        """``GET /audit/assets/<name>``: the page's stylesheet and script."""
        name = request.path_params["name"]
        if name not in _ASSETS:
            raise GatewayError(404, f"no such asset: {name}")
        return Response(_resource(name), media_type=_ASSETS[name])
