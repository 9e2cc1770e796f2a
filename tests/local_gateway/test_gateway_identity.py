"""The local gateway says what it is: every answer carries ``X-Igris-Gateway: local``, so a
client (the demo, a notebook) can tell it from a real gateway."""

from __future__ import annotations

import httpx

from igris_core import protocol
from igris_core.local_gateway import LocalGateway


def test_every_answer_names_the_local_gateway(gw: LocalGateway, client: httpx.Client) -> None:
    providers = client.get(protocol.PROVIDERS_PATH)
    refused = httpx.get(gw.base_url + protocol.PROVIDERS_PATH)  # no key: 401
    unknown = client.post("/llm/nope/v1/chat/completions", json={})
    for response in (providers, refused, unknown):
        assert response.headers[protocol.GATEWAY_HEADER] == protocol.LOCAL_GATEWAY
    assert (providers.status_code, refused.status_code, unknown.status_code) == (200, 401, 404)
