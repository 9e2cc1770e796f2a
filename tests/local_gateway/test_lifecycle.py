"""Starting, stopping, async use, reset, and the configuration the gateway starts from."""

from __future__ import annotations

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import (
    ConnectionConfig,
    DenyRule,
    Fault,
    GatewayConfig,
    LocalGateway,
    RateLimitRule,
    ScriptedReply,
)
from tests.local_gateway.helpers import CHAT, chat_body


async def test_async_with_serves_without_blocking_the_loop() -> None:
    async with LocalGateway() as gw:
        assert gw.running
        headers = {"Authorization": f"Bearer {gw.api_key}"}
        async with httpx.AsyncClient(base_url=gw.base_url, headers=headers) as client:
            response = await client.post(CHAT, json=chat_body("async hello", stream=True))
            assert response.status_code == 200
            providers = await client.get(protocol.PROVIDERS_PATH)
            assert providers.status_code == 200
    assert not gw.running


def test_base_url_and_generated_key(gw: LocalGateway) -> None:
    assert gw.base_url.startswith("http://127.0.0.1:")
    assert not gw.base_url.endswith("/")
    assert gw.api_key.startswith("ig_local_")
    assert gw.connection_url("openai-prod") == gw.base_url + "/llm/openai-prod/v1"


def test_configured_keys_rules_and_connections() -> None:
    config = GatewayConfig(
        keys={"ci": "ig_local_ci", "dev": "ig_local_dev"},
        connections=[ConnectionConfig("only-one", provider="groq")],
        deny=[DenyRule("no-x", pattern="x-files")],
        rate_limits=[RateLimitRule("one", limit=1, window=60, per="connection")],
    )
    with LocalGateway(config) as gw:
        assert gw.api_key == "ig_local_ci"
        assert gw.config is config
        path = protocol.chat_completions_path("only-one")
        dev = {"Authorization": "Bearer ig_local_dev"}
        assert (
            httpx.post(gw.base_url + path, json=chat_body("x-files"), headers=dev).status_code
            == 403
        )
        assert httpx.post(gw.base_url + path, json=chat_body(), headers=dev).status_code == 200
        assert httpx.post(gw.base_url + path, json=chat_body(), headers=dev).status_code == 429
        assert httpx.post(gw.base_url + CHAT, json=chat_body(), headers=dev).status_code == 404
        assert gw.audit[0].key_id == "dev"


def test_start_stop_restart() -> None:
    gw = LocalGateway()
    with pytest.raises(RuntimeError, match="not running"):
        _ = gw.base_url
    gw.start()
    gw.start()  # no-op
    first_url = gw.base_url
    key = gw.api_key
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(first_url + protocol.PROVIDERS_PATH, headers=headers).status_code == 200
    gw.stop()
    gw.stop()  # no-op
    with pytest.raises(httpx.ConnectError):
        httpx.get(first_url + protocol.PROVIDERS_PATH, headers=headers)
    with gw:
        assert gw.api_key == key  # the generated key survives restarts
        assert httpx.get(gw.base_url + protocol.PROVIDERS_PATH, headers=headers).status_code == 200
        assert len(gw.audit) == 2  # the audit trail too


def test_reset_returns_to_the_starting_configuration(
    gw: LocalGateway, client: httpx.Client
) -> None:
    key = gw.add_key("ig_local_extra", key_id="extra")
    gw.add_connection("temp")
    gw.deny("deny-all")
    gw.rate_limit("tiny", limit=1, window=60)
    gw.script("openai-prod", ScriptedReply.text("scripted"))
    gw.inject_fault("openai-prod", Fault(status=500))
    assert client.post(CHAT, json=chat_body()).status_code == 403
    api_key = gw.api_key
    gw.reset()
    assert gw.api_key == api_key
    assert gw.audit == []
    assert (
        client.post(CHAT, json=chat_body("live")).json()["choices"][0]["message"]["content"]
        == "live"
    )
    assert client.post(CHAT, json=chat_body()).status_code == 200  # no rate limit left
    assert client.post(protocol.chat_completions_path("temp"), json=chat_body()).status_code == 404
    extra = httpx.post(
        gw.base_url + CHAT, json=chat_body(), headers={"Authorization": f"Bearer {key}"}
    )
    assert extra.status_code == 401


def test_reset_clears_rate_limit_counts(gw: LocalGateway, client: httpx.Client) -> None:
    config_rule = RateLimitRule("cfg", limit=1, window=60)
    with LocalGateway(GatewayConfig(rate_limits=(config_rule,))) as limited:
        headers = {"Authorization": f"Bearer {limited.api_key}"}
        url = limited.base_url + CHAT
        assert httpx.post(url, json=chat_body(), headers=headers).status_code == 200
        assert httpx.post(url, json=chat_body(), headers=headers).status_code == 429
        limited.reset()
        assert httpx.post(url, json=chat_body(), headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slug": "bad slug"}, "invalid connection slug"),
        ({"slug": "-leading"}, "invalid connection slug"),
        ({"slug": "ok", "provider": "acme"}, "unknown provider"),
        ({"slug": "ok", "backend": "magic"}, "unknown backend"),
        ({"slug": "ok", "backend": "forward"}, "upstream_base_url"),
        ({"slug": "ok", "upstream_base_url": "ftp://x"}, "http"),
        ({"slug": "ok", "embedding_dimensions": 0}, "embedding_dimensions"),
    ],
)
def test_invalid_connections_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectionConfig(**kwargs)  # type: ignore[arg-type]


def test_invalid_gateway_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        GatewayConfig(connections=(ConnectionConfig("a"), ConnectionConfig("a")))
    with pytest.raises(ValueError):
        GatewayConfig(max_body_bytes=0)
    with pytest.raises(ValueError):
        GatewayConfig(keys={"a": "same", "b": "same"})
    with pytest.raises(TypeError):
        GatewayConfig(deny=("not a rule",))  # type: ignore[arg-type]
