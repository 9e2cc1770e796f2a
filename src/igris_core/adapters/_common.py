"""What the SDK adapters share: argument checks, the route an adapted client follows, and the
per-request identity hook installed on Stainless-generated SDK clients (``openai``,
``anthropic``).

How the hook works. Both SDKs call ``client._prepare_request(request)`` on every attempt of
every request, after building the ``httpx`` (or ``httpx2``) request and before sending it, and
outside their connection-error handling (so an error raised there reaches the caller as is,
never retried nor wrapped). The adapter shadows that method on the client instance: it runs the
original, then adds the ``X-Igris-*`` headers resolved *now* (so an ``igris_context`` scope
entered after adaptation applies), skipping any header the request already carries (so the SDK's
own ``extra_headers`` win). It also shadows ``copy`` / ``with_options`` so that a derived client
(``client.with_options(timeout=5)``) stays routed. Nothing is added to the SDK's ``httpx`` client,
which may be shared with clients that are not adapted.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from igris_core import (
    AsyncIgris,
    Identity,
    Igris,
    IgrisInputTypeError,
    current_context,
    identity_headers,
    protocol,
    resolve_identity,
)
from igris_core._answer import Redactor, loads_or_none
from igris_core._model_ref import validate_slug
from igris_core._tracing import trace_headers

__all__ = [
    "AdapterRoute",
    "IgrisClient",
    "adapt",
    "check_igris",
    "make_route",
    "missing_sdk",
    "reset_instance_attrs",
]

IgrisClient = Igris | AsyncIgris
"""Either Igris client; an adapter only reads its base URL, key and default identity."""

_STATE_ATTR = "_igris_adapter_state"
_IDENTITY_HEADERS = (protocol.USER_HEADER.lower(), protocol.TRACE_ID_HEADER.lower())
_METADATA_PREFIX = protocol.METADATA_HEADER_PREFIX.lower()
_CREDENTIAL_HEADERS = (protocol.AUTHORIZATION_HEADER.lower(), protocol.API_KEY_HEADER.lower())


def missing_sdk(module: str, package: str, extra: str) -> ImportError:
    """The ``ImportError`` an adapter module raises when its SDK is not installed."""
    return ImportError(
        f"igris_core.adapters.{module} needs the {package!r} package, which is not installed; "
        f"install it with: pip install 'igris-integrations[{extra}]'"
    )


def check_igris(igris: object) -> IgrisClient:
    """Refuse anything but an :class:`~igris_core.Igris` or :class:`~igris_core.AsyncIgris`."""
    if not isinstance(igris, (Igris, AsyncIgris)):
        raise IgrisInputTypeError(
            f"invalid igris argument {type(igris).__name__!r}: expected an igris_core.Igris or "
            "igris_core.AsyncIgris client, e.g. Igris(api_key=...)"
        )
    return igris


class AdapterRoute:
    """Where an adapted client sends its requests, and the identity it adds to them.

    ``layer`` holds the ``user`` / ``trace_id`` / ``metadata`` given to ``with_igris``: the
    adapted client's own defaults, between an ``igris_context`` scope (above) and the Igris
    client's defaults (below).
    """

    __slots__ = ("base_url", "igris", "layer", "slug")

    def __init__(self, igris: IgrisClient, slug: str, base_url: str, layer: Identity | None):
        self.igris = igris
        self.slug = slug
        self.base_url = base_url
        self.layer = layer

    @property
    def api_key(self) -> str:
        """The Igris key in clear, for the SDK's credential."""
        return self.igris.api_key.get_secret_value()

    def resolve(self) -> Identity:
        """The identity a request sent now carries (before the SDK's own headers)."""
        return resolve_identity(current_context(), self.layer, self.igris.identity)

    def __repr__(self) -> str:
        return f"AdapterRoute(slug={self.slug!r}, base_url={self.base_url!r}, layer={self.layer!r})"


def make_route(
    igris: object,
    connection_slug: object,
    path_of: Callable[[str], str],
    user: str | None,
    trace_id: str | None,
    metadata: Mapping[str, str] | None,
) -> AdapterRoute:
    """Check every argument (raising errors that name the bad value) and build the route.

    Nothing is mutated here, so a bad argument leaves the SDK client untouched.
    """
    checked = check_igris(igris)
    slug = validate_slug(connection_slug)
    layer = Identity.of(user, trace_id, metadata)
    return AdapterRoute(checked, slug, checked.base_url + path_of(slug), layer)


def reset_instance_attrs(client: object, values: Mapping[str, object]) -> None:
    """Set the given attributes, but only those the client holds as instance attributes (SDK
    versions differ; a name that is a method or property here is left alone)."""
    present = vars(client)
    for name, value in values.items():
        if name in present:
            setattr(client, name, value)


def _is_identity_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _IDENTITY_HEADERS or lowered.startswith(_METADATA_PREFIX)


def _drop_custom_headers(client: Any, *, identity: bool) -> None:
    """Remove credential headers (and, on adaptation, ``X-Igris-*`` headers) from the SDK's
    ``default_headers``. The mapping is replaced, never mutated: it may be the caller's own."""
    current: Mapping[str, Any] = getattr(client, "_custom_headers", None) or {}
    kept = {
        name: value
        for name, value in current.items()
        if name.lower() not in _CREDENTIAL_HEADERS and not (identity and _is_identity_header(name))
    }
    if len(kept) != len(current):
        client._custom_headers = kept


def _body_user(request: Any) -> object:
    """The ``user`` field of a JSON request body, if there is one: it becomes
    ``X-Igris-User`` when no layer sets a user (docs/protocol.md, "Identity headers")."""
    if "json" not in request.headers.get("content-type", ""):
        return None
    try:
        content = request.content
    except Exception:  # a streaming body that was not read: nothing to look at
        return None
    # Cheap pre-check: a "user" key is followed by a colon ("role": "user" is not).
    if not isinstance(content, bytes) or b'"user":' not in content:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body.get("user") if isinstance(body, dict) else None


def apply_identity(route: AdapterRoute, url_prefix: str, request: Any) -> None:
    """Add the ``X-Igris-*`` headers to a request bound for the adapted route, and the tracing
    headers (an automatic trace id when none is set, ``traceparent`` inside a span).

    A header the request already carries (the SDK's ``extra_headers``) is kept. A request to a
    URL outside the route (an absolute URL given to ``client.get``, a base URL changed by hand)
    gets nothing: identity goes to the gateway only.
    """
    if not str(request.url).startswith(url_prefix):
        return
    identity = route.resolve()
    present = request.headers
    tracing = trace_headers(identity.trace_id is not None or protocol.TRACE_ID_HEADER in present)
    if tracing is not None:
        for name, value in tracing.items():
            if name not in present:  # the SDK's own (or its instrumentation's) win
                present[name] = value
    body_user = None
    if identity.user is None and protocol.USER_HEADER not in present:
        body_user = _body_user(request)
    if identity.is_empty and body_user is None:
        return
    for name, value in identity_headers(identity, body_user).items():
        if name not in present:
            present[name] = value


Configure = Callable[[Any, AdapterRoute], None]
"""Points one SDK client at a route: base URL and credential (SDK-specific)."""


class _State:
    __slots__ = ("configure", "previous_prepare", "route", "url_prefix")

    def __init__(
        self,
        route: AdapterRoute,
        url_prefix: str,
        configure: Configure,
        previous_prepare: Callable[[Any], Any] | None,
    ) -> None:
        self.route = route
        self.url_prefix = url_prefix
        self.configure = configure
        self.previous_prepare = previous_prepare


def _mark(function: Callable[..., Any]) -> Callable[..., Any]:
    function.__igris_adapter_hook__ = True  # type: ignore[attr-defined]
    return function


def _state_of(client: Any) -> _State:
    state: _State = vars(client)[_STATE_ATTR]
    return state


def _run_prepare(client: Any, state: _State, request: Any) -> Any:
    if state.previous_prepare is not None:
        return state.previous_prepare(request)
    return type(client)._prepare_request(client, request)


def _install(client: Any, route: AdapterRoute, configure: Configure) -> None:
    """Record the route on the client and, the first time only, shadow its hooks."""
    old: _State | None = vars(client).get(_STATE_ATTR)
    if old is not None:
        previous = old.previous_prepare
    else:
        own = vars(client).get("_prepare_request")  # another library's instance-level hook
        previous = None if own is None or getattr(own, "__igris_adapter_hook__", False) else own
    setattr(client, _STATE_ATTR, _State(route, str(client.base_url), configure, previous))
    if old is not None:
        return  # the hooks read the state at call time: re-adaptation only swaps it

    if inspect.iscoroutinefunction(type(client)._prepare_request):

        async def prepare_async(request: Any) -> None:
            state = _state_of(client)
            result = _run_prepare(client, state, request)
            if inspect.isawaitable(result):
                await result
            apply_identity(state.route, state.url_prefix, request)

        client._prepare_request = _mark(prepare_async)
    else:

        def prepare(request: Any) -> None:
            state = _state_of(client)
            _run_prepare(client, state, request)
            apply_identity(state.route, state.url_prefix, request)

        client._prepare_request = _mark(prepare)

    def copy(*args: Any, **kwargs: Any) -> Any:
        state = _state_of(client)
        derived = type(client).copy(client, *args, **kwargs)
        # A derived client stays on the route, with the same key and identity hook; its own
        # default_headers (X-Igris-* included) are kept, as headers the caller set on purpose.
        state.configure(derived, state.route)
        _drop_custom_headers(derived, identity=False)
        _install(derived, state.route, state.configure)
        return derived

    client.copy = _mark(copy)
    client.with_options = client.copy
    _install_guards(client)


def _install_guards(client: Any) -> None:
    """Two more hooks of the Stainless SDKs, shadowed on the instance:

    - ``_prepare_options`` (every attempt, before the request is built): redirects are not
      followed, as by the core client. httpx would carry the ``X-Igris-*`` headers (and resend
      the prompt) to whatever origin a 307 names; the redirect reaches the caller as the SDK's
      status error instead.
    - ``_make_status_error`` (every error answer): the message and parsed body the SDK error
      carries are redacted (:class:`~igris_core._answer.Redactor`). ``err.response`` stays
      the SDK's raw ``httpx.Response``, which the adapter cannot touch.
    """
    if inspect.iscoroutinefunction(type(client)._prepare_options):

        async def prepare_options_async(options: Any) -> Any:
            options = await type(client)._prepare_options(client, options)
            options.follow_redirects = False
            return options

        client._prepare_options = _mark(prepare_options_async)
    else:

        def prepare_options(options: Any) -> Any:
            options = type(client)._prepare_options(client, options)
            options.follow_redirects = False
            return options

        client._prepare_options = _mark(prepare_options)

    def make_status_error(err_msg: str, *, body: object, response: Any) -> Any:
        redact = Redactor(_state_of(client).route.api_key)
        return type(client)._make_status_error(
            client, redact(err_msg), body=_redacted_json(body, redact), response=response
        )

    client._make_status_error = _mark(make_status_error)


def _redacted_json(value: object, redact: Redactor) -> object:
    """A parsed JSON body (or text) with any echo of the key redacted."""
    if value is None:
        return None
    if isinstance(value, str):
        return redact(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return redact(repr(value))
    cleaned = redact(text)
    return value if cleaned == text else loads_or_none(cleaned)


def adapt(client: Any, route: AdapterRoute, configure: Configure) -> None:
    """Point an SDK client at a route, in place: base URL and credential (``configure``),
    credential and ``X-Igris-*`` default headers removed, per-request identity hook installed.
    Adapting the same client again (to another connection, say) replaces the route."""
    configure(client, route)
    _drop_custom_headers(client, identity=True)
    _install(client, route, configure)
