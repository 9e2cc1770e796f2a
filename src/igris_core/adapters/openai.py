"""Route an official ``openai`` SDK client through the Igris gateway.

Example::

    import openai
    from igris_core import Igris
    from igris_core.adapters.openai import with_igris

    client = with_igris(openai.OpenAI(api_key="unused"), Igris(), "openai-prod", user="alice")
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from igris_core import IgrisInputError, IgrisInputTypeError, protocol
from igris_core.adapters._common import (
    AdapterRoute,
    IgrisClient,
    adapt,
    make_route,
    missing_sdk,
    reset_instance_attrs,
)

try:
    import openai
except ImportError as _err:  # pragma: no cover - exercised by simulating absence
    raise missing_sdk("openai", "openai", "openai") from _err

__all__ = ["with_igris"]

OpenAIClientT = TypeVar("OpenAIClientT", bound="openai.OpenAI | openai.AsyncOpenAI")


def _check_client(client: object) -> None:
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        raise IgrisInputTypeError(
            f"invalid client {type(client).__name__!r}: expected an openai.OpenAI or "
            "openai.AsyncOpenAI instance, e.g. openai.OpenAI(api_key='unused')"
        )
    if isinstance(client, (openai.AzureOpenAI, openai.AsyncAzureOpenAI)):
        raise IgrisInputTypeError(
            f"invalid client {type(client).__name__!r}: Azure clients address deployments, not "
            "gateway routes; pass a plain openai.OpenAI or openai.AsyncOpenAI instead"
        )
    if getattr(client, "_provider_runtime", None) is not None:
        raise IgrisInputError(
            f"invalid client {type(client).__name__!r}: it was built with provider=...; the "
            "gateway route replaces the provider, so pass a client built without it"
        )


def _configure(client: Any, route: AdapterRoute) -> None:
    client.base_url = route.base_url
    client.api_key = route.api_key  # sent as Authorization: Bearer <Igris key>
    # Credentials that would otherwise replace or accompany the Igris key, and a realtime
    # websocket URL that would send the Igris key somewhere else than the gateway.
    reset_instance_attrs(
        client,
        {
            "_api_key_provider": None,
            "admin_api_key": None,
            "workload_identity": None,
            "_workload_identity_auth": None,
            "websocket_base_url": None,
        },
    )


def with_igris(
    client: OpenAIClientT,
    igris: IgrisClient,
    connection_slug: str,
    *,
    user: str | None = None,
    trace_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> OpenAIClientT:
    """Route an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client through gateway connection
    ``connection_slug``, in place, and return the same client.

    The client's base URL becomes ``{igris.base_url}/llm/{connection_slug}/v1`` and its API key
    the Igris key (``Authorization: Bearer``); any other credential it held (an API-key callable,
    an admin key, workload identity, ``Authorization`` / ``x-api-key`` default headers) is dropped,
    so no OpenAI secret reaches the gateway. Chat completions (plain and streaming), embeddings and
    the rest of the SDK then work unchanged; errors are the SDK's own (``openai.APIStatusError``
    subclasses carrying the gateway's status).

    Every request gets the ``X-Igris-*`` headers computed when it is sent, most specific first:
    the call's own ``extra_headers``; the current :func:`~igris_core.igris_context` scope; the
    ``user`` / ``trace_id`` / ``metadata`` given here (the adapted client's defaults; metadata
    merges key by key); the ``igris`` client's defaults. A request body's ``user`` field is sent as
    ``X-Igris-User`` when none of those sets a user. ``X-Igris-*`` default headers the client
    already had are removed, so that they do not shadow scopes. ``client.with_options(...)`` /
    ``client.copy(...)`` return clients that stay routed. Calling ``with_igris`` again on the same
    client (another connection, another user) replaces the route; nothing is installed twice.

    Every argument is checked before the client is touched: a bad slug, identity value, client
    or ``igris`` raises :class:`~igris_core.IgrisInputError` (a ``ValueError``) or
    :class:`~igris_core.IgrisInputTypeError` (also a ``TypeError``) naming it.

    Example::

        import openai
        from igris_core import Igris, igris_context
        from igris_core.adapters.openai import with_igris

        igris = Igris()
        client = with_igris(openai.OpenAI(api_key="unused"), igris, "openai-prod", user="svc")
        with igris_context(user="alice@corp.com", trace_id="ticket-981"):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
            )
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    """
    route = make_route(igris, connection_slug, protocol.connection_prefix, user, trace_id, metadata)
    _check_client(client)
    adapt(client, route, _configure)
    return client
