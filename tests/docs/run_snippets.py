"""Run README code blocks in one namespace, in order, as a reader pasting them would.

Started by tests/docs/test_readme.py in a fresh interpreter, one per README section. Reads
``{"file": path, "blocks": [{"line", "code", "timeout", "label"}]}`` as JSON on stdin. Every socket
may connect to the loopback only (the local gateway), each block has its own time limit, and a
warning raised while a block runs fails it like an exception: a snippet that works but warns
(e.g. a zero vector's ``RuntimeWarning``) is not a working snippet. Exits 1 with the failing
block's README line on the first failure.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
import warnings
from types import FrameType
from typing import Any

from pytest_socket import socket_allow_hosts

LOOPBACK = ["127.0.0.1", "::1", "localhost"]


class SnippetTimeout(Exception):
    """A block ran past its time limit."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise SnippetTimeout("the block ran past its time limit")


def run_block(namespace: dict[str, Any], file: str, block: dict[str, Any]) -> str | None:
    """Run one block; the failure's description, or ``None`` when it ran cleanly."""
    # Padding keeps the README's line numbers in tracebacks.
    code = compile("\n" * (block["line"] - 1) + block["code"], file, "exec")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The same targeted exceptions as the test suite (pyproject.toml, filterwarnings): a
        # pool let go without close() on a finished event loop, closed by the GC; and LangChain
        # marking `loads` as beta, which the README shows on purpose.
        warnings.filterwarnings("ignore", category=ResourceWarning)
        warnings.filterwarnings("ignore", "The function `loads` is in beta", Warning)
        signal.setitimer(signal.ITIMER_REAL, float(block["timeout"]))
        try:
            exec(code, namespace)  # noqa: S102 - running the README's own code is the point
        except BaseException as exc:
            # Drop this function's frame: the traceback starts at the README line.
            return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    if caught:
        return "warnings:\n" + "\n".join(
            f"  {w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
        )
    return None


def main() -> int:
    """Run the blocks given on stdin; 0 when every one ran cleanly."""
    job = json.load(sys.stdin)
    socket_allow_hosts(LOOPBACK)
    signal.signal(signal.SIGALRM, _on_alarm)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in job["blocks"]:
        print(f"--- {block['label']}", flush=True)
        started = time.perf_counter()
        failure = run_block(namespace, job["file"], block)
        print(f"--- ran {time.perf_counter() - started:.1f} s", flush=True)
        if failure is not None:
            print(f"FAILED: {block['label']}\n{failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
