"""The suite's own strictness: no network but loopback, warnings are errors, xfail is strict."""

from __future__ import annotations

import socket
import warnings

import pytest
from pytest_socket import SocketConnectBlockedError

# TEST-NET-1 (RFC 5737): never routed, so even an unguarded attempt could not reach anyone.
UNROUTABLE = ("192.0.2.1", 9)


def test_a_connection_beyond_loopback_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, warnings.catch_warnings():
        # pytest-socket also warns about the attempt; the error is what the test checks.
        warnings.simplefilter("ignore")
        with pytest.raises(SocketConnectBlockedError, match=r"192\.0\.2\.1"):
            sock.connect(UNROUTABLE)


def test_loopback_connections_work() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=30) as client:
            peer, _ = server.accept()
            with peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"


def test_warnings_fail_tests_and_xfail_is_strict(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("filterwarnings")[0] == "error"
    assert pytestconfig.getini("xfail_strict") is True
    with pytest.raises(UserWarning, match="surfaced"):
        warnings.warn("surfaced", UserWarning, stacklevel=1)
