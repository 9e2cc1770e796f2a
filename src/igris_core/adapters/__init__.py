"""Adapters that route an official provider SDK client through the Igris gateway.

Each adapter lives in its own module so that importing one needs only its own SDK:

- :mod:`igris_core.adapters.openai`: ``with_igris(openai.OpenAI() | openai.AsyncOpenAI(), ...)``
  (extra ``igris-integrations[openai]``);
- :mod:`igris_core.adapters.anthropic`: ``with_igris(anthropic.Anthropic() | AsyncAnthropic(),
  ...)`` (extra ``igris-integrations[anthropic]``);
- :mod:`igris_core.adapters.google`: ``with_igris(None, ...)`` returns the
  :class:`~igris_core.LlmConnection`, and ``http_options(...)`` builds what ``google-genai``
  accepts (extra ``igris-integrations[google]``).

The OpenAI and Anthropic adapters mutate the client in place and return the same object: its base
URL becomes the connection's gateway route, its credential becomes the Igris key, and every
request it sends gets the ``X-Igris-*`` identity headers computed at request time. Where several
places set the identity, the most specific wins:

1. headers given to the SDK itself: a call's ``extra_headers``, or ``default_headers`` given to
   ``client.with_options(...)`` after adaptation;
2. the current :func:`~igris_core.igris_context` scope;
3. the ``user`` / ``trace_id`` / ``metadata`` given to ``with_igris`` (the adapted client's own
   defaults);
4. the ``Igris`` client's defaults (its constructor or ``igris.with_options(...)``).

Metadata merges key by key under the same order.

Example::

    import openai
    from igris_core import Igris, igris_context
    from igris_core.adapters.openai import with_igris

    client = with_igris(openai.OpenAI(api_key="unused"), Igris(), "openai-prod")
    with igris_context(user="alice@corp.com", trace_id="ticket-981"):
        client.chat.completions.create(model="gpt-4o", messages=[...])

An adapted client raises the SDK's own exceptions; :func:`to_igris_error` turns one into the
matching :class:`~igris_core.IgrisError` (same status mapping, the gateway's request id, the key
redacted).
"""

from __future__ import annotations

from igris_core.adapters._errors import to_igris_error

__all__ = ["to_igris_error"]
