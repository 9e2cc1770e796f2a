"""Route an official ``anthropic`` SDK client through the Igris gateway.

Example::

    import anthropic
    from igris_core import Igris
    from igris_core.adapters.anthropic import with_igris

    client = with_igris(anthropic.Anthropic(api_key="unused"), Igris(), "anthropic-prod")
    client.messages.create(
        model="claude-3-5-sonnet-20241022",
        max_tokens=256,
        messages=[{"role": "user", "content": "Hello!"}],
    )
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from igris_core import IgrisInputTypeError, protocol
from igris_core.adapters._common import (
    AdapterRoute,
    IgrisClient,
    adapt,
    make_route,
    missing_sdk,
    reset_instance_attrs,
)

try:
    import anthropic
except ImportError as _err:  # pragma: no cover - exercised by simulating absence
    raise missing_sdk("anthropic", "anthropic", "anthropic") from _err

__all__ = ["with_igris"]

AnthropicClientT = TypeVar(
    "AnthropicClientT", bound="anthropic.Anthropic | anthropic.AsyncAnthropic"
)


def _check_client(client: object) -> None:
    if not isinstance(client, (anthropic.Anthropic, anthropic.AsyncAnthropic)):
        raise IgrisInputTypeError(
            f"invalid client {type(client).__name__!r}: expected an anthropic.Anthropic or "
            "anthropic.AsyncAnthropic instance, e.g. anthropic.Anthropic(api_key='unused')"
        )


def _configure(client: Any, route: AdapterRoute) -> None:
    client.base_url = route.base_url
    # The SDK sends api_key as x-api-key (older versions) or Authorization: Bearer (newer ones);
    # the gateway takes either.
    client.api_key = route.api_key
    client.auth_token = None
    # Other credential sources (an access-token provider, a profile's extra headers) would replace
    # the Igris key or send Anthropic account details to the gateway.
    reset_instance_attrs(
        client,
        {
            "credentials": None,
            "_token_cache": None,
            "_custom_auth": None,
            "_credential_headers": {},
            "_unchosen_base_url": None,
        },
    )


def with_igris(
    client: AnthropicClientT,
    igris: IgrisClient,
    connection_slug: str,
    *,
    user: str | None = None,
    trace_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> AnthropicClientT:
    """Route an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client through gateway
    connection ``connection_slug`` (an Anthropic-style connection), in place, and return the same
    client.

    The client's base URL becomes ``{igris.base_url}/llm/{connection_slug}`` (the SDK appends
    ``/v1/messages``) and its API key the Igris key; an ``auth_token``, a ``credentials``
    provider or profile and ``Authorization`` / ``x-api-key`` default headers are dropped, so no
    Anthropic secret reaches the gateway. Messages (plain and streaming) then work unchanged;
    errors are the SDK's own (``anthropic.APIStatusError`` subclasses with the gateway's status).

    Identity: every request gets the ``X-Igris-*`` headers computed when it is sent, most
    specific first: the call's own ``extra_headers``; the current
    :func:`~igris_core.igris_context` scope; the ``user`` / ``trace_id`` / ``metadata`` given here;
    the ``igris`` client's defaults (metadata merges key by key). ``client.with_options(...)``
    returns clients that stay routed; calling ``with_igris`` again replaces the route. See
    :func:`igris_core.adapters.openai.with_igris` for the details, which are the same.

    Every argument is checked before the client is touched; a bad one raises
    :class:`~igris_core.IgrisInputError` or :class:`~igris_core.IgrisInputTypeError` naming it.

    Example::

        import anthropic
        from igris_core import Igris, igris_context
        from igris_core.adapters.anthropic import with_igris

        client = with_igris(anthropic.Anthropic(api_key="unused"), Igris(), "anthropic-prod")
        with igris_context(user="alice@corp.com"):
            with client.messages.stream(
                model="claude-3-5-sonnet-20241022",
                max_tokens=256,
                messages=[{"role": "user", "content": "Hello!"}],
            ) as stream:
                print(stream.get_final_text())
    """
    route = make_route(igris, connection_slug, protocol.anthropic_prefix, user, trace_id, metadata)
    _check_client(client)
    adapt(client, route, _configure)
    return client
