"""``igris-local-gateway`` / ``python -m igris_core.local_gateway``: serve a local gateway in the
foreground until Ctrl-C, after printing the base URL and the variables to export."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources

from igris_core import protocol
from igris_core.local_gateway._audit.request_log import REQUEST_LOGGER
from igris_core.local_gateway._config.settings import GatewayConfig
from igris_core.local_gateway._config.toml_file import load_config

__all__ = ["main"]

DEFAULT_PORT = 8787
EXAMPLE_CONFIG = "example-config.toml"
_SERVER_MODULES = ("starlette", "uvicorn")
_MISSING_EXTRA = (
    "igris-local-gateway: the local gateway needs the 'local-gateway' extra ({missing} is not "
    "installed): pip install 'igris-integrations[local-gateway]'"
)


def _example_config() -> str:
    return (
        resources.files("igris_core.local_gateway._config")
        .joinpath(EXAMPLE_CONFIG)
        .read_text("utf-8")
    )


def _missing_server_module() -> str | None:
    for module in _SERVER_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken or blocked installation
            found = False
        if not found:
            return module
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="igris-local-gateway",
        description="An offline Igris gateway for tests, notebooks and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help="TOML configuration: keys, connections (scripted answers included), deny rules, "
        "rate limits, limits. An annotated example ships with the package: "
        "--print-example-config writes it out",
    )
    parser.add_argument(
        "--print-example-config",
        action="store_true",
        help=f"print the annotated {EXAMPLE_CONFIG} and exit",
    )
    parser.add_argument(
        "--api-key",
        help="accept this key (id 'cli') in addition to the configured ones and print it: the "
        "same key across restarts",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="level of the server's own log (default warning)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no log line per request (shown by default)"
    )
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.print_example_config:
        print(_example_config(), end="")
        return 0
    missing = _missing_server_module()
    if missing is not None:
        print(_MISSING_EXTRA.format(missing=missing), file=sys.stderr)
        return 1
    # Imported here: they need the server's dependencies checked just above.
    from igris_core.local_gateway._server.server import bind_socket, build_server, url_for
    from igris_core.local_gateway._server.state import GatewayState

    try:
        config = load_config(args.config) if args.config else GatewayConfig()
        if args.api_key:
            config = replace(config, keys={"cli": args.api_key, **config.keys})
    except (OSError, ValueError, TypeError) as exc:
        print(f"igris-local-gateway: {exc}", file=sys.stderr)
        return 2
    state = GatewayState(config)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"igris-local-gateway: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    base_url = url_for(sock)
    if not _is_loopback(args.host):
        print(
            "warning: listening beyond this machine; anyone who can reach it can use the keys",
            file=sys.stderr,
        )
    slugs = ", ".join(c.slug for c in config.connections) or "none"
    print(f"Igris local gateway listening on {base_url} (connections: {slugs})")
    print(f"export {protocol.ENV_BASE_URL}={base_url}")
    print(f"export {protocol.ENV_API_KEY}={state.primary_key}")
    print(
        f"Audit page: {base_url}{protocol.LOCAL_AUDIT_PAGE_PATH} (sign in with the key)", flush=True
    )
    if not args.quiet:
        _show_request_log()
    # uvicorn re-raises Ctrl-C once it has shut down cleanly: that is a normal exit here.
    with contextlib.suppress(KeyboardInterrupt):
        build_server(state, log_level=args.log_level, embedded=False).run(sockets=[sock])
    return 0


def _show_request_log() -> None:
    """One line per call on stderr (the gateway's own logger, whatever uvicorn's level)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    REQUEST_LOGGER.addHandler(handler)
    REQUEST_LOGGER.setLevel(logging.INFO)
    REQUEST_LOGGER.propagate = False
