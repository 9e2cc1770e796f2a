"""The gateway as a developer's tool: keys, helpful errors, a bounded audit trail, a log line."""

from __future__ import annotations

import logging
import threading
import time
from unittest import mock

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import Fault, GatewayConfig, LocalGateway, load_config
from igris_core.local_gateway._policy import auth as gateway_auth
from tests.local_gateway.helpers import CHAT, chat_body


def test_keys_are_compared_in_constant_time(gw: LocalGateway, client: httpx.Client) -> None:
    spy = mock.Mock(wraps=gateway_auth.hmac.compare_digest)
    with mock.patch.object(gateway_auth.hmac, "compare_digest", spy):
        assert client.post(CHAT, json=chat_body()).status_code == 200
        bad = httpx.post(
            gw.base_url + CHAT, json=chat_body(), headers={"Authorization": "Bearer ig_wrong"}
        )
    assert bad.status_code == 401
    assert spy.call_count >= 2
    assert all(isinstance(a, bytes) for call in spy.call_args_list for a in call.args)


def test_a_401_says_whether_the_key_was_missing_or_unknown(gw: LocalGateway) -> None:
    missing = httpx.post(gw.base_url + CHAT, json=chat_body())
    unknown = httpx.post(gw.base_url + CHAT, json=chat_body(), headers={"x-api-key": "ig_old"})
    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert missing.json()["error"]["message"].startswith("missing API key")
    message = unknown.json()["error"]["message"]
    assert message.startswith("unknown API key") and "restarted" in message
    assert "ig_old" not in message


def test_unknown_connection_lists_the_configured_slugs(client: httpx.Client) -> None:
    answer = client.post(protocol.chat_completions_path("gohst"), json=chat_body())
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "'gohst'" in message
    assert "anthropic-prod, google-prod, local, openai-prod" in message


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/llm/openai-prod/chat/completions"])
def test_unknown_route_shows_the_route_shapes(client: httpx.Client, path: str) -> None:
    answer = client.post(path, json=chat_body())
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "POST /llm/<slug>/v1/chat/completions" in message
    assert "base_url=<gateway>/llm/<slug>/v1" in message


def test_the_audit_trail_is_a_ring_buffer() -> None:
    with LocalGateway(GatewayConfig(audit_max_entries=3)) as gw:
        headers = {"Authorization": f"Bearer {gw.api_key}"}
        for word in ["one", "two", "three", "four", "five"]:
            httpx.post(gw.base_url + CHAT, json=chat_body(word), headers=headers)
        assert [e.usage and e.usage["completion_tokens"] for e in gw.audit] == [1, 1, 1]
        assert len(gw.audit) == 3
        assert gw.audit_stats.dropped == 2
        gw.reset()
        assert (gw.audit, gw.audit_stats.dropped) == ([], 0)


def test_audit_size_comes_from_the_config_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "c.toml"  # type: ignore[operator]
    path.write_text("audit_max_entries = 7\n", encoding="utf-8")
    assert load_config(path).audit_max_entries == 7
    with pytest.raises(ValueError, match="audit_max_entries"):
        GatewayConfig(audit_max_entries=0)


def test_unauthenticated_calls_are_counted_without_their_metadata(gw: LocalGateway) -> None:
    big = "x" * 4000
    headers = {
        protocol.USER_HEADER: big,
        protocol.TRACE_ID_HEADER: big,
        **{f"{protocol.METADATA_HEADER_PREFIX}k{i}": big for i in range(3)},
    }
    for _ in range(5):
        assert httpx.post(gw.base_url + CHAT, json=chat_body(), headers=headers).status_code == 401
    assert gw.audit_stats.unauthenticated == 5
    for entry in gw.audit:
        assert (entry.status, entry.key_id) == (401, None)
        assert (entry.user, entry.trace_id, entry.metadata, entry.model) == (None, None, {}, None)


def test_one_log_line_per_call(
    gw: LocalGateway, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    gw.deny("no-secrets", pattern="password")
    identity = {protocol.USER_HEADER: "alice", protocol.TRACE_ID_HEADER: "task-1"}
    with caplog.at_level(logging.INFO, logger="igris_core.local_gateway.requests"):
        client.post(CHAT, json=chat_body("hello there"), headers=identity)
        client.post(CHAT, json=chat_body("my password"), headers=identity)
        # percent-encoded on the wire, decoded by the gateway into a real line break
        forged = {protocol.USER_HEADER: "eve%0A12:00:00%20200%20POST%20forged"}
        client.post(CHAT, json=chat_body(), headers=forged)
    lines = [r.getMessage() for r in caplog.records if r.name.endswith(".requests")]
    assert len(lines) == 3
    ok, denied, odd = lines
    request_ids = [e.request_id for e in gw.audit]
    assert " 200 POST " + CHAT + " openai-prod/gpt-4o " in ok
    assert "user=alice trace=task-1 tokens=5/2 " in ok and request_ids[0] in ok
    assert " 403 " in denied and denied.endswith("rule=no-secrets")
    assert "\n" not in odd and 'user="eve\\n12:00:00 200 POST forged"' in odd


def test_leaving_the_gateway_does_not_wait_for_an_injected_latency(
    capfd: pytest.CaptureFixture[str],
) -> None:
    gw = LocalGateway()
    gw.start()
    gw.inject_fault("openai-prod", Fault(latency=30))
    answers: list[httpx.Response | Exception] = []

    def call() -> None:
        try:
            answers.append(
                httpx.post(
                    gw.base_url + CHAT,
                    json=chat_body(),
                    headers={"Authorization": f"Bearer {gw.api_key}"},
                    timeout=20,
                )
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.0)  # the call is asleep on its latency
    started = time.monotonic()
    gw.stop()
    assert time.monotonic() - started < 1.0
    caller.join(5)
    (answer,) = answers
    assert isinstance(answer, httpx.Response) and answer.status_code == 503
    assert "shutting down" in answer.json()["error"]["message"]
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
