"""``igris-local-gateway`` / ``python -m igris_core.local_gateway``: serve a local gateway in the
foreground until Ctrl-C, after printing the base URL and the variables to export."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import sys
from collections.abc import Sequence
from dataclasses import replace

from igris_core import protocol
from igris_core.local_gateway.config import GatewayConfig
from igris_core.local_gateway.config_file import load_config
from igris_core.local_gateway.server import bind_socket, build_server, url_for
from igris_core.local_gateway.state import GatewayState

__all__ = ["main"]

DEFAULT_PORT = 8787


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
    parser.add_argument("--config", metavar="FILE.toml", help="TOML configuration (see the docs)")
    parser.add_argument(
        "--api-key", help="accept this key (id 'cli') in addition to the configured ones"
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
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
    print(f"export {protocol.ENV_API_KEY}={state.primary_key}", flush=True)
    # uvicorn re-raises Ctrl-C once it has shut down cleanly: that is a normal exit here.
    with contextlib.suppress(KeyboardInterrupt):
        build_server(state, log_level=args.log_level, embedded=False).run(sockets=[sock])
    return 0
