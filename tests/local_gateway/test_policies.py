"""Deny rules (403 policy_denied) and rate limits (429 with Retry-After)."""

from __future__ import annotations

import time

import httpx
import pytest

from igris_core import protocol
from igris_core._identity import encode_header_value
from igris_core.local_gateway import LocalGateway
from tests.local_gateway.helpers import CHAT, EMBEDDINGS, MESSAGES, chat_body


def denied_by(response: httpx.Response, rule: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "policy_denied"
    assert error["code"] == rule
    assert rule in error["message"]
    assert response.headers[protocol.REQUEST_ID_HEADER]


def test_deny_by_pattern_over_message_text(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("no-passwords", pattern=r"(?i)password\s*[:=]")
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You help."},
            {"role": "user", "content": [{"type": "text", "text": "my PASSWORD: hunter2"}]},
        ],
    }
    denied_by(client.post(CHAT, json=body), "no-passwords")
    assert client.post(CHAT, json=chat_body("the password policy")).status_code == 200
    entry = gw.audit[-2]
    assert (
        entry.status == 403 and entry.rule == "no-passwords" and entry.error_type == "policy_denied"
    )
    assert entry.usage is None
    assert gw.audit[-1].rule is None


def test_pattern_also_covers_embeddings_and_messages(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.deny("secret", pattern="TOP-SECRET")
    denied_by(
        client.post(EMBEDDINGS, json={"model": "m", "input": ["ok", "TOP-SECRET doc"]}), "secret"
    )
    body = {
        "model": "claude",
        "max_tokens": 5,
        "system": "TOP-SECRET system prompt",
        "messages": [{"role": "user", "content": "hi"}],
    }
    denied_by(client.post(MESSAGES, json=body), "secret")


def test_deny_by_user_header_or_body_user(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("no-interns", user="intern@corp.com")
    denied_by(
        client.post(CHAT, json=chat_body(), headers={protocol.USER_HEADER: "intern@corp.com"}),
        "no-interns",
    )
    denied_by(client.post(CHAT, json=chat_body(user="intern@corp.com")), "no-interns")
    assert (
        client.post(
            CHAT, json=chat_body(), headers={protocol.USER_HEADER: "boss@corp.com"}
        ).status_code
        == 200
    )


def test_deny_by_percent_encoded_user(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("no-zoe", user="Zoë")
    headers = {protocol.USER_HEADER: encode_header_value("Zoë")}
    denied_by(client.post(CHAT, json=chat_body(), headers=headers), "no-zoe")


def test_deny_by_key_id(gw: LocalGateway, client: httpx.Client) -> None:
    key = gw.add_key(key_id="ci-bot")
    assert key.startswith("ig_local_")
    gw.deny("no-ci", key_id="ci-bot")
    denied_by(
        client.post(CHAT, json=chat_body(), headers={"Authorization": f"Bearer {key}"}), "no-ci"
    )
    assert client.post(CHAT, json=chat_body()).status_code == 200
    assert gw.audit[-2].key_id == "ci-bot"


def test_deny_by_connection_and_model(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("no-google", connection="google-prod")
    gw.deny("no-gpt-3", model="gpt-3.5-turbo")
    denied_by(
        client.post(protocol.chat_completions_path("google-prod"), json=chat_body()), "no-google"
    )
    denied_by(client.post(CHAT, json={**chat_body(), "model": "gpt-3.5-turbo"}), "no-gpt-3")
    assert client.post(CHAT, json=chat_body()).status_code == 200


def test_deny_by_metadata_all_entries_must_match(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("sandbox-prod", metadata={"Team": "sandbox", "env": "prod"})
    prefix = protocol.METADATA_HEADER_PREFIX
    both = {prefix + "team": "sandbox", prefix + "Env": "prod"}
    denied_by(client.post(CHAT, json=chat_body(), headers=both), "sandbox-prod")
    one = {prefix + "team": "sandbox", prefix + "env": "dev"}
    assert client.post(CHAT, json=chat_body(), headers=one).status_code == 200


def test_all_criteria_of_a_rule_must_match(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("alice-on-google", user="alice", connection="google-prod")
    alice = {protocol.USER_HEADER: "alice"}
    assert client.post(CHAT, json=chat_body(), headers=alice).status_code == 200
    google = protocol.chat_completions_path("google-prod")
    denied_by(client.post(google, json=chat_body(), headers=alice), "alice-on-google")


def test_first_matching_rule_wins_and_same_name_replaces(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.deny("first", pattern="blocked")
    gw.deny("second", pattern="blocked")
    denied_by(client.post(CHAT, json=chat_body("blocked")), "first")
    gw.deny("first", pattern="never-matches-anything")
    denied_by(client.post(CHAT, json=chat_body("blocked")), "second")


def test_invalid_rules_are_refused_where_written(gw: LocalGateway) -> None:
    with pytest.raises(ValueError, match="invalid pattern"):
        gw.deny("bad", pattern="(")
    with pytest.raises(ValueError):
        gw.rate_limit("bad", limit=0, window=1)
    with pytest.raises(ValueError):
        gw.rate_limit("bad", limit=1, window=0)
    with pytest.raises(ValueError):
        gw.rate_limit("bad", limit=1, window=1, per="team")  # type: ignore[arg-type]


def rate_limited_by(response: httpx.Response, rule: str) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", rule)
    retry_after = response.headers[protocol.RETRY_AFTER_HEADER]
    assert retry_after.isdigit() and int(retry_after) >= 1
    return int(retry_after)


def test_rate_limit_per_key(gw: LocalGateway, client: httpx.Client) -> None:
    gw.rate_limit("two-per-minute", limit=2, window=60)
    assert [client.post(CHAT, json=chat_body()).status_code for _ in range(2)] == [200, 200]
    assert rate_limited_by(client.post(CHAT, json=chat_body()), "two-per-minute") <= 60
    other = gw.add_key()
    response = client.post(CHAT, json=chat_body(), headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200  # another key has its own count
    entry = gw.audit[-2]
    assert (entry.status, entry.rule, entry.error_type) == (
        429,
        "two-per-minute",
        "rate_limit_error",
    )


def test_rate_limit_per_user(gw: LocalGateway, client: httpx.Client) -> None:
    gw.rate_limit("one-per-user", limit=1, window=60, per="user")
    ann = {protocol.USER_HEADER: "ann"}
    bob = {protocol.USER_HEADER: "bob"}
    assert client.post(CHAT, json=chat_body(), headers=ann).status_code == 200
    rate_limited_by(client.post(CHAT, json=chat_body(), headers=ann), "one-per-user")
    assert client.post(CHAT, json=chat_body(), headers=bob).status_code == 200


def test_rate_limit_per_connection_and_only_on_one_connection(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.rate_limit("google-once", limit=1, window=60, per="connection", connection="google-prod")
    google = protocol.chat_completions_path("google-prod")
    assert client.post(google, json=chat_body()).status_code == 200
    rate_limited_by(client.post(google, json=chat_body()), "google-once")
    assert client.post(CHAT, json=chat_body()).status_code == 200  # other connection untouched


def test_rate_limit_window_slides(gw: LocalGateway, client: httpx.Client) -> None:
    gw.rate_limit("burst", limit=1, window=0.3)
    assert client.post(CHAT, json=chat_body()).status_code == 200
    assert rate_limited_by(client.post(CHAT, json=chat_body()), "burst") == 1  # at least 1 s
    time.sleep(0.35)
    assert client.post(CHAT, json=chat_body()).status_code == 200


def test_refused_calls_do_not_count_and_deny_comes_first(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.rate_limit("one", limit=1, window=60)
    gw.deny("stop-word", pattern="forbidden")
    for _ in range(3):
        denied_by(client.post(CHAT, json=chat_body("forbidden")), "stop-word")
    assert client.post(CHAT, json=chat_body()).status_code == 200  # denied calls were not counted
    rate_limited_by(client.post(CHAT, json=chat_body()), "one")
