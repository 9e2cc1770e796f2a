"""An offline Igris gateway: the Igris wire protocol served on 127.0.0.1, for tests, notebooks,
demos and CI without network access (like ``moto`` for AWS).

It serves what docs/protocol.md describes ("Routes", "The local gateway"): ``GET /llm/providers``,
and per connection ``POST /llm/<slug>/v1/chat/completions`` (JSON and SSE), ``/embeddings`` and,
for Anthropic-style connections, ``/messages``. Every call is authenticated, checked against
deny rules and rate limits, and recorded in an audit trail with its identity headers and usage.

Python::

    from igris_core.local_gateway import LocalGateway, Fault, ScriptedReply

    with LocalGateway() as gw:            # also `async with`
        gw.deny("no-secrets", pattern=r"(?i)password")
        gw.script("openai-prod", ScriptedReply.tool_call("search", {"q": "igris"}))
        gw.inject_fault("openai-prod", Fault(status=503, times=1))
        ...                               # call gw.connection_url("openai-prod") with gw.api_key
        print(gw.audit[-1])

pytest: ``pytest_plugins = ["igris_core.testing"]`` gives the ``igris_gateway`` fixture.

Command line: ``python -m igris_core.local_gateway [--host 127.0.0.1] [--port 8787]
[--config FILE.toml] [--api-key KEY] [--quiet]`` (``--port 0`` picks a free port) prints the base
URL, the ``export IGRIS_BASE_URL=... IGRIS_API_KEY=...`` lines and the audit page's address, then
serves until Ctrl-C with one log line per call (``--print-example-config`` prints an annotated
configuration).

Audit page: ``GET /audit`` in a browser (sign in with a key) lists the calls live, newest first,
with filters; ``GET /audit/entries`` gives the same entries as JSON (``Authorization: Bearer``).

Backends of a connection:

- ``echo`` (default): deterministic answers derived from the request (the last user message),
  honouring ``max_tokens``, ``stop``, ``n``, forced tools (schema-valid arguments) and
  ``response_format``; streamed word by word.
- ``script``: replies queued with :meth:`LocalGateway.script` (queued replies are served first
  on every backend; an empty queue on a ``script`` connection answers 400 ``script_exhausted``).
- ``forward``: a real OpenAI-compatible upstream (vLLM, Ollama, llama.cpp, OpenAI...).
- ``llama-cpp``: a small instruct model run in-process (default the bundled SmolLM2-135M-Instruct;
  extra ``local-model``), serving the default connection ``local``; see
  :mod:`._backends.llama_cpp` for what it honours.

Deny rules and rate limits apply to the connection routes (after the key check, before any
backend); faults (:class:`Fault`) are injected per connection. Embeddings come from a local
feature-hashing embedder (:mod:`._backends.embedder`), so lexical retrieval works offline.

TOML configuration (``--config``; ``--print-example-config`` prints an annotated example,
``_config/example-config.toml``). All sections are optional; unknown fields are errors::

    max_body_bytes = 10485760            # larger bodies get 413 (default 10 MiB)
    audit_max_entries = 10000            # audit ring buffer size (oldest dropped and counted)

    [keys]                               # key id = key; none: one ig_local_... key is generated
    default = "ig_local_dev_key"

    [[connections]]                      # none listed: openai-prod, anthropic-prod, google-prod
    slug = "openai-prod"
    provider = "openai"                  # a slug of GET /llm/providers
    backend = "echo"                     # echo | script | forward
    embedding_dimensions = 256           # default vector size of /embeddings
    # upstream_base_url = "http://127.0.0.1:8000/v1"   # forward only
    # upstream_api_key_env = "VLLM_API_KEY"            # forward: env var holding the key
    # script_loop = true                 # start the script over once all replies were served

    [[connections.script]]               # scripted replies, in order (one of the four keys)
    text = "Paris."                      # or tool_call = { name = "...", arguments = {...} },
                                         # tool_calls = [...], error = { status = 503, ... }

    [[deny]]                             # 403 policy_denied, code = name; all fields must match
    name = "no-secrets"
    pattern = "(?i)password"             # regex searched in the request's message text
    # key_id, user, connection, model = "..."; metadata = { team = "sandbox" }

    [[rate_limits]]                      # 429 + Retry-After, code = name; sliding window
    name = "per-key"
    limit = 60                           # requests...
    window = 60                          # ...per this many seconds
    per = "key"                          # key | user | connection
    # connection = "openai-prod"         # only count calls to this connection

Without ``--config`` the default configuration is used: a generated key and the ``openai-prod``
(OpenAI), ``anthropic-prod`` (Anthropic, serves ``/v1/messages``) and ``google-prod`` (Google)
connections on the echo backend, and ``local`` on the llama-cpp backend.

Every answer carries ``X-Igris-Gateway: local``, so clients can tell this gateway from a real one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from igris_core.local_gateway._audit.trail import AuditEntry, AuditStats
    from igris_core.local_gateway._backends.scripted import ScriptedReply
    from igris_core.local_gateway._config.providers import PROVIDERS
    from igris_core.local_gateway._config.settings import (
        ConnectionConfig,
        DenyRule,
        GatewayConfig,
        RateLimitRule,
    )
    from igris_core.local_gateway._config.toml_file import load_config
    from igris_core.local_gateway._policy.faults import Fault
    from igris_core.local_gateway._server.server import LocalGateway
    from igris_core.local_gateway._wire.stream_shapes import STREAM_SHAPES

# Names are imported on first use, so that the command line can say which extra to install
# when the server's dependencies (starlette, uvicorn) are missing, instead of a traceback.
_WHERE = {
    "AuditEntry": "_audit.trail",
    "AuditStats": "_audit.trail",
    "ConnectionConfig": "_config.settings",
    "DenyRule": "_config.settings",
    "GatewayConfig": "_config.settings",
    "RateLimitRule": "_config.settings",
    "load_config": "_config.toml_file",
    "Fault": "_policy.faults",
    "PROVIDERS": "_config.providers",
    "ScriptedReply": "_backends.scripted",
    "LocalGateway": "_server.server",
    "STREAM_SHAPES": "_wire.stream_shapes",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "PROVIDERS",
    "STREAM_SHAPES",
    "AuditEntry",
    "AuditStats",
    "ConnectionConfig",
    "DenyRule",
    "Fault",
    "GatewayConfig",
    "LocalGateway",
    "RateLimitRule",
    "ScriptedReply",
    "load_config",
]
