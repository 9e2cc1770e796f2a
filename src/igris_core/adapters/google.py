"""Google: the gateway connection for manual use, and ``google-genai`` options pointing at it.

Unlike the OpenAI and Anthropic SDKs, ``google-genai`` speaks Gemini's own REST shape
(``POST {base_url}/{api_version}/models/{model}:generateContent``), not OpenAI's. So there are two
ways to reach Gemini through Igris:

1. **Recommended: the OpenAI-compatible route.** Gemini connections on the gateway are
   OpenAI-style (chat completions, embeddings). Use the official ``openai`` SDK with
   :func:`igris_core.adapters.openai.with_igris` and the Google connection's slug, or
   ``Igris().chat.completions.create(model="@google-prod/gemini-2.0-flash", ...)``, or the
   :class:`~igris_core.LlmConnection` that :func:`with_igris` returns here.
2. **The native SDK**, ``genai.Client(..., http_options=http_options(igris, slug))``: this only
   works when the gateway connection is a Gemini-style passthrough that serves Gemini's native
   routes under ``{base}/llm/{slug}/``. An OpenAI-style connection (the local gateway's
   ``google-prod``, for one) answers those paths with 404.

Example::

    from google import genai
    from igris_core import Igris
    from igris_core.adapters.google import http_options, with_igris

    igris = Igris()
    conn = with_igris(None, igris, "google-prod", user="alice@corp.com")  # conn.base_url, ...
    client = genai.Client(
        api_key=igris.api_key.get_secret_value(), http_options=http_options(igris, "gemini-native")
    )
"""

from __future__ import annotations

from collections.abc import Mapping

from igris_core import IgrisInputTypeError, protocol
from igris_core.adapters._common import IgrisClient, check_igris, missing_sdk
from igris_core.types import LlmConnection

try:
    from google.genai import types as genai_types
except ImportError as _err:  # pragma: no cover - exercised by simulating absence
    raise missing_sdk("google", "google-genai", "google") from _err

__all__ = ["IgrisHttpOptions", "http_options", "with_igris"]

_MASK = "**********"
_CREDENTIAL_HEADERS = (protocol.AUTHORIZATION_HEADER.lower(), protocol.API_KEY_HEADER.lower())


def with_igris(
    client: None,
    igris: IgrisClient,
    connection_slug: str,
    *,
    user: str | None = None,
    trace_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> LlmConnection:
    """The :class:`~igris_core.LlmConnection` of gateway connection ``connection_slug``, for
    manual use, as the vendor's Google adapter stub returns it. Pass ``None`` as ``client``: the
    Google SDK has no client to mutate (see :func:`http_options` for ``google-genai``).

    The connection's ``base_url`` is the OpenAI-compatible route ``{base}/llm/{slug}/v1``; its
    ``headers`` are the ``X-Igris-*`` headers resolved now: these arguments, then the current
    :func:`~igris_core.igris_context` scope, then the ``igris`` client's defaults (as
    :meth:`~igris_core.Igris.connect_llm`). They are fixed once built: build the connection
    inside the scope it is for.

    Example::

        conn = with_igris(None, igris, "google-prod", user="alice@corp.com")
        openai.OpenAI(**conn.openai_kwargs()).chat.completions.create(
            model="gemini-2.0-flash", messages=[{"role": "user", "content": "Hi"}]
        )
    """
    if client is not None:
        raise IgrisInputTypeError(
            f"invalid client {type(client).__name__!r}: the Google adapter does not mutate a "
            "client; pass None, and build a google-genai client with "
            "genai.Client(api_key=..., http_options=http_options(igris, slug))"
        )
    return check_igris(igris).connect_llm(
        connection_slug, user=user, trace_id=trace_id, metadata=metadata
    )


class IgrisHttpOptions(genai_types.HttpOptions):
    """``google.genai.types.HttpOptions`` whose ``repr`` and ``str`` mask the Igris key it
    carries in its ``Authorization`` header. Anywhere ``HttpOptions`` is accepted, so is this.

    Example::

        options = http_options(igris, "gemini-native")
        print(options)  # ... headers={'Authorization': '**********', ...}
    """

    def _masked(self) -> genai_types.HttpOptions:
        headers = {
            name: _MASK if name.lower() in _CREDENTIAL_HEADERS else value
            for name, value in (self.headers or {}).items()
        }
        fields = {name: getattr(self, name) for name in genai_types.HttpOptions.model_fields}
        fields["headers"] = headers
        return genai_types.HttpOptions.model_construct(**fields)

    def __repr__(self) -> str:
        return repr(self._masked())

    def __str__(self) -> str:
        return str(self._masked())


def http_options(
    igris: IgrisClient,
    connection_slug: str,
    *,
    user: str | None = None,
    trace_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> genai_types.HttpOptions:
    """``HttpOptions`` that point a ``google-genai`` client at gateway connection
    ``connection_slug``: ``base_url`` ``{base}/llm/{slug}`` (the SDK appends
    ``/{api_version}/models/...``) and ``headers`` with the Igris key
    (``Authorization: Bearer``) and the ``X-Igris-*`` identity headers.

    Read the module docstring first: this needs a gateway connection that passes Gemini's native
    REST routes through. For an OpenAI-style Gemini connection use the ``openai`` SDK with
    :func:`igris_core.adapters.openai.with_igris` instead.

    Identity is resolved when the options are built (these arguments, then the current
    :func:`~igris_core.igris_context` scope, then the ``igris`` client's defaults) and fixed after
    that: ``google-genai`` offers no per-request hook, so build one client per user or scope.
    ``genai.Client`` also sends its ``api_key`` (as ``x-goog-api-key``): give it the Igris key,
    never a Google key, which the gateway has no use for. Add other options with
    ``http_options(...).model_copy(update={"timeout": 30_000})``.

    Example::

        from google import genai

        client = genai.Client(
            api_key=igris.api_key.get_secret_value(),
            http_options=http_options(igris, "gemini-native", user="alice@corp.com"),
        )
        client.models.generate_content(model="gemini-2.0-flash", contents="Hello")
    """
    igris = check_igris(igris)
    conn = igris.connect_llm(connection_slug, user=user, trace_id=trace_id, metadata=metadata)
    # The provider-native base path /llm/{slug}; protocol.py names it after Anthropic, the first
    # SDK that appends its own version segment to it.
    base_url = igris.base_url + protocol.anthropic_prefix(connection_slug)
    headers = {
        **conn.headers,
        protocol.AUTHORIZATION_HEADER: f"Bearer {conn.api_key.get_secret_value()}",
    }
    return IgrisHttpOptions(base_url=base_url, headers=headers)
