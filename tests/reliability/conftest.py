"""Fixtures of the reliability and security suite.

Every test talks to the local gateway over real HTTP on 127.0.0.1 (``gw``, from the root
conftest: one gateway per test session and xdist worker, reset before each test). Retries wait no
real time (``delays``, also from the root conftest, patches ``retry_delay`` to record what it
would have waited and return 0), so a fault costs a few milliseconds.

Tests tag themselves with ``record_case(case_type, attempts)``; the tags travel in the test
report (``user_properties``, also in ``--junitxml``), and a run of this directory prints a
summary table (cases per type, passed, attempts the gateway saw). Set
``IGRIS_RELIABILITY_SUMMARY=path.json`` to also write it as JSON.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_ssl_context() -> Iterator[None]:
    """Every test here builds fresh clients, and every ``httpx`` pool builds an SSL context
    (~25 ms of CPU loading the CA bundle). No test here speaks TLS (the servers are plain HTTP
    on loopback), so the pools of a module share one default context: a large part of the
    suite's CPU. Module-scoped, so that no other directory's tests see the patch."""
    import functools

    import httpx._transports.default as default_transport

    original = default_transport.create_ssl_context
    cached = functools.lru_cache(maxsize=8)(original)

    def create(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None:  # the default: share it
            return cached(verify=verify, cert=cert, trust_env=trust_env)
        return original(verify=verify, cert=cert, trust_env=trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default_transport, "create_ssl_context", create)
        yield


@pytest.fixture
def record_case(record_property: Callable[[str, object], None]) -> Callable[..., None]:
    """``record_case(case_type, attempts)``: tag the test for the suite's summary."""

    def record(case_type: str, attempts: int | None = None) -> None:
        record_property("igris_case", case_type)
        if attempts is not None:
            record_property("igris_attempts", attempts)

    return record


# --- the summary ---------------------------------------------------------------------------------
_results: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the tagged outcome of each test (on the xdist controller too)."""
    props = dict(report.user_properties)
    if "igris_case" not in props:
        return
    entry = _results.setdefault(
        report.nodeid, {"case": props["igris_case"], "outcome": "passed", "attempts": None}
    )
    if "igris_attempts" in props:
        entry["attempts"] = props["igris_attempts"]
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and report.when == "call":
        entry["outcome"] = "skipped"


def _summary() -> dict[str, Any]:
    by_case: dict[str, dict[str, int]] = defaultdict(
        lambda: {"cases": 0, "passed": 0, "failed": 0, "skipped": 0, "attempts": 0}
    )
    for entry in _results.values():
        row = by_case[entry["case"]]
        row["cases"] += 1
        row[entry["outcome"]] += 1
        row["attempts"] += entry["attempts"] or 0
    total = {
        key: sum(row[key] for row in by_case.values())
        for key in ("cases", "passed", "failed", "skipped", "attempts")
    }
    return {"by_case": dict(sorted(by_case.items())), "total": total, "tests": _results}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the table of case types (when this directory's tests ran)."""
    if not _results:
        return
    summary = _summary()
    write = terminalreporter.write_line
    terminalreporter.section("igris reliability summary")
    write(f"{'case type':34} {'cases':>6} {'passed':>7} {'failed':>7} {'attempts':>9}")
    for case, row in summary["by_case"].items():
        write(f"{case:34} {row['cases']:6} {row['passed']:7} {row['failed']:7} {row['attempts']:9}")
    t = summary["total"]
    write(f"{'total':34} {t['cases']:6} {t['passed']:7} {t['failed']:7} {t['attempts']:9}")
    path = os.environ.get("IGRIS_RELIABILITY_SUMMARY")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2, sort_keys=True)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port
