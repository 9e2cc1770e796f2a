"""Reading a :class:`GatewayConfig` from a TOML file (format in the package docstring)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from igris_core.local_gateway._audit.trail import DEFAULT_AUDIT_MAX_ENTRIES
from igris_core.local_gateway._config.script_config import scripted_reply_from_table
from igris_core.local_gateway._config.settings import (
    DEFAULT_CONNECTIONS,
    DEFAULT_MAX_BODY_BYTES,
    ConnectionConfig,
    DenyRule,
    GatewayConfig,
    RateLimitRule,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["config_from_mapping", "load_config"]

_TOP_LEVEL = {"keys", "connections", "deny", "rate_limits", "max_body_bytes", "audit_max_entries"}
_CONNECTION_FIELDS = {
    "slug",
    "provider",
    "backend",
    "upstream_base_url",
    "upstream_api_key_env",
    "embedding_dimensions",
    "script",
    "script_loop",
    "model_path",
    "threads",
    "max_queued",
}
_DENY_FIELDS = {"name", "key_id", "user", "connection", "model", "metadata", "pattern"}
_RATE_FIELDS = {"name", "limit", "window", "per", "connection"}


def _check_fields(where: str, table: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return table


def _tables(data: Mapping[str, Any], name: str) -> list[object]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected an array of tables ([[{name}]])")
    return value


def _connection(where: str, table: object) -> ConnectionConfig:
    fields = dict(_check_fields(where, table, _CONNECTION_FIELDS))
    script = fields.pop("script", [])
    if not isinstance(script, list):
        raise ValueError(f"{where}: script must be an array of tables ([[connections.script]])")
    replies = tuple(
        scripted_reply_from_table(f"{where}.script[{i}]", t) for i, t in enumerate(script)
    )
    return ConnectionConfig(**fields, script=replies)


def config_from_mapping(data: Mapping[str, Any], *, source: str = "config") -> GatewayConfig:
    """Build a :class:`GatewayConfig` from parsed TOML (or any mapping of the same shape).

    Connections default to the built-in ``openai-prod`` / ``anthropic-prod`` / ``google-prod``
    when the mapping has no ``connections`` entry. Unknown fields are errors, so a typo is
    reported instead of silently ignored.
    """
    _check_fields(source, data, _TOP_LEVEL)
    keys = data.get("keys", {})
    if not isinstance(keys, Mapping) or not all(isinstance(v, str) for v in keys.values()):
        raise ValueError(f"{source}: [keys] must map key ids to key strings")
    try:
        connections = (
            tuple(
                _connection(f"{source}: connections[{i}]", t)
                for i, t in enumerate(_tables(data, "connections"))
            )
            if "connections" in data
            else DEFAULT_CONNECTIONS
        )
        deny = tuple(
            DenyRule(**_check_fields(f"{source}: deny[{i}]", t, _DENY_FIELDS))
            for i, t in enumerate(_tables(data, "deny"))
        )
        rate_limits = tuple(
            RateLimitRule(**_check_fields(f"{source}: rate_limits[{i}]", t, _RATE_FIELDS))
            for i, t in enumerate(_tables(data, "rate_limits"))
        )
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{source}: {exc}") from None
    return GatewayConfig(
        keys=dict(keys),
        connections=connections,
        deny=deny,
        rate_limits=rate_limits,
        max_body_bytes=data.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        audit_max_entries=data.get("audit_max_entries", DEFAULT_AUDIT_MAX_ENTRIES),
    )


def load_config(path: str | Path) -> GatewayConfig:
    """Read a gateway configuration from a TOML file; ``ValueError`` names what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    return config_from_mapping(data, source=str(path))
