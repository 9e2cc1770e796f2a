"""The Igris wire protocol in one place: routes, header names, limits and status mapping.

Everything the client side and the local gateway must agree on lives here (docs/protocol.md
describes it), so a difference found against the hosted gateway is a one-line change. This module
holds data and tiny pure helpers only: no I/O.
"""

from __future__ import annotations

import re
from typing import Final

from igris_core import _errors as errors

# --- base URL and key ----------------------------------------------------------------------
DEFAULT_BASE_URL: Final = "https://api.igrisecurity.com"
ENV_BASE_URL: Final = "IGRIS_BASE_URL"
ENV_API_KEY: Final = "IGRIS_API_KEY"

# --- routes ----------------------------------------------------------------------------------
PROVIDERS_PATH: Final = "/llm/providers"
CHAT_COMPLETIONS_SUFFIX: Final = "/chat/completions"
EMBEDDINGS_SUFFIX: Final = "/embeddings"
MESSAGES_SUFFIX: Final = "/messages"


# The local gateway's own pages (not part of the hosted gateway's contract): the audit page,
# its sign-in form and the JSON list of entries behind it.
LOCAL_AUDIT_PAGE_PATH: Final = "/audit"
LOCAL_AUDIT_LOGIN_PATH: Final = "/audit/login"
LOCAL_AUDIT_ENTRIES_PATH: Final = "/audit/entries"
LOCAL_AUDIT_ASSET_PATH: Final = "/audit/assets/{name}"


def connection_prefix(slug: str) -> str:
    """Path of a connection's OpenAI-compatible route: ``/llm/{slug}/v1``."""
    return f"/llm/{slug}/v1"


def anthropic_prefix(slug: str) -> str:
    """Base path the Anthropic SDK is given (it appends ``/v1/messages``)."""
    return f"/llm/{slug}"


def chat_completions_path(slug: str) -> str:
    """Path of the chat-completions route of a connection."""
    return f"/llm/{slug}/v1/chat/completions"


def embeddings_path(slug: str) -> str:
    """Path of the embeddings route of a connection."""
    return f"/llm/{slug}/v1/embeddings"


def messages_path(slug: str) -> str:
    """Path of the Anthropic-style messages route of a connection."""
    return f"/llm/{slug}/v1/messages"


# --- headers ---------------------------------------------------------------------------------
AUTHORIZATION_HEADER: Final = "Authorization"
API_KEY_HEADER: Final = "x-api-key"
USER_HEADER: Final = "X-Igris-User"
TRACE_ID_HEADER: Final = "X-Igris-Trace-Id"
METADATA_HEADER_PREFIX: Final = "X-Igris-Metadata-"
REQUEST_ID_HEADER: Final = "X-Igris-Request-Id"
TRACEPARENT_HEADER: Final = "traceparent"  # W3C Trace Context (docs/protocol.md, "Tracing")
RETRY_AFTER_HEADER: Final = "Retry-After"
RETRY_AFTER_MS_HEADER: Final = "retry-after-ms"
# Sent by the offline local gateway on every answer (value LOCAL_GATEWAY), never by a real one.
GATEWAY_HEADER: Final = "X-Igris-Gateway"
LOCAL_GATEWAY: Final = "local"
USER_AGENT_PREFIX: Final = "igris-integrations-python/"

# --- model addressing ------------------------------------------------------------------------
SLUG_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
MODEL_REF_RE: Final = re.compile(rf"@(?P<slug>{SLUG_PATTERN})/(?P<model>\S+)")
SLUG_RE: Final = re.compile(SLUG_PATTERN)
MODEL_REF_FORM: Final = "'@<connection-slug>/<model>', e.g. '@openai-prod/gpt-4o'"

# --- identity limits -------------------------------------------------------------------------
METADATA_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
METADATA_KEY_FORM: Final = "1 to 64 characters of A-Z a-z 0-9 _ -"
METADATA_MAX_ENTRIES: Final = 32
IDENTITY_VALUE_MAX_CHARS: Final = 512
IDENTITY_HEADERS_MAX_BYTES: Final = 8192

# --- streaming -------------------------------------------------------------------------------
SSE_DONE: Final = "[DONE]"
SSE_CONTENT_TYPE: Final = "text/event-stream"

# --- status mapping and retries --------------------------------------------------------------
ERROR_CLASS_BY_STATUS: Final[dict[int, type[errors.IgrisError]]] = {
    400: errors.IgrisBadRequestError,
    401: errors.IgrisAuthError,
    403: errors.IgrisPolicyDeniedError,
    404: errors.IgrisNotFoundError,
    409: errors.IgrisConflictError,
    413: errors.IgrisPayloadTooLargeError,
    422: errors.IgrisValidationError,
    429: errors.IgrisRateLimitError,
}
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_TIMEOUT: Final = 60.0
RETRY_INITIAL_DELAY: Final = 0.5
RETRY_MAX_DELAY: Final = 8.0
RETRY_AFTER_CAP: Final = 60.0

# --- limits on the client (docs/protocol.md, "Limits on the client") ------------------------
# Encodings the client asks for: the ones it can inflate in bounded steps (zlib's max_length).
# Any other Content-Encoding in an answer is refused rather than inflated blindly.
ACCEPT_ENCODING: Final = "gzip, deflate"
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES: Final = 8 * 1024 * 1024
# What an error keeps of a body (and what of an error body is read and parsed at most).
ERROR_BODY_MAX_BYTES: Final = 64 * 1024

# The gateway's error type names, by status, for error bodies it writes itself.
ERROR_TYPE_BY_STATUS: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "policy_denied",
    404: "not_found_error",
    405: "method_not_allowed",
    409: "conflict_error",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_timeout",
}


def error_class_for_status(status: int) -> type[errors.IgrisError]:
    """The typed error class for an HTTP status (docs/protocol.md, "Errors")."""
    cls = ERROR_CLASS_BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return errors.IgrisServerError
    return errors.IgrisError


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, object]:
    """The protocol's error body: ``{"error": {"message", "type", "code"}}``."""
    return {"error": {"message": message, "type": type_, "code": code}}


# Error types that providers put in a mid-stream error event, mapped to the status they mean.
STATUS_BY_ERROR_TYPE: Final[dict[str, int]] = {
    **{name: status for status, name in ERROR_TYPE_BY_STATUS.items()},
    "invalid_request_error": 400,
    "permission_error": 403,
    "permission_denied": 403,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "overloaded_error": 503,
    "timeout_error": 504,
}


def status_of_stream_error(error: object) -> int | None:
    """The HTTP status a mid-stream ``error`` object stands for: its ``status`` (or a numeric
    ``code``) when it gives one, else what its ``type`` means; ``None`` when unknown."""
    if not isinstance(error, dict):
        return None
    for field in ("status", "status_code", "code"):
        value = error.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
            return value
        if isinstance(value, str) and value.isdigit() and 400 <= int(value) <= 599:
            return int(value)
    type_ = error.get("type")
    return STATUS_BY_ERROR_TYPE.get(type_) if isinstance(type_, str) else None
