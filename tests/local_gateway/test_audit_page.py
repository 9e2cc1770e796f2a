"""The audit page over plain HTTP: sign-in, the JSON list with its filters, offline assets."""

from __future__ import annotations

import re

import httpx

from igris_core import protocol
from igris_core.local_gateway import LocalGateway
from tests.local_gateway.helpers import CHAT, chat_body

PAGE = protocol.LOCAL_AUDIT_PAGE_PATH
ENTRIES = protocol.LOCAL_AUDIT_ENTRIES_PATH


def test_the_page_asks_for_a_key_then_sets_a_cookie(gw: LocalGateway) -> None:
    with httpx.Client(base_url=gw.base_url) as browser:
        assert browser.get("/").headers["location"] == PAGE
        form = browser.get(PAGE)
        assert form.status_code == 200 and 'name="key"' in form.text
        assert browser.get(ENTRIES).status_code == 401
        wrong = browser.post(protocol.LOCAL_AUDIT_LOGIN_PATH, data={"key": "ig_nope"})
        assert wrong.status_code == 401 and "does not accept" in wrong.text
        right = browser.post(protocol.LOCAL_AUDIT_LOGIN_PATH, data={"key": gw.api_key})
        assert right.status_code == 303
        cookie = right.headers["set-cookie"]
        assert gw.api_key not in cookie
        assert all(p in cookie for p in ("HttpOnly", "SameSite=strict", f"Path={PAGE}"))
        assert "Domain" not in cookie  # host only
        page = browser.get(PAGE)
        assert 'id="entries"' in page.text
        assert browser.get(ENTRIES).status_code == 200
    assert gw.audit == []  # the page's own calls are not audited


def test_the_page_needs_no_network(gw: LocalGateway) -> None:
    with httpx.Client(base_url=gw.base_url) as browser:
        browser.post(protocol.LOCAL_AUDIT_LOGIN_PATH, data={"key": gw.api_key})
        page = browser.get(PAGE).text
        assets = re.findall(r'(?:href|src)="([^"]+)"', page)
        assert len(assets) == 2 and all(a.startswith(PAGE + "/") for a in assets)
        for asset in assets:
            text = browser.get(asset).text
            assert browser.get(asset).status_code == 200
            assert "http://" not in text and "https://" not in text
        assert browser.get(PAGE + "/assets/../state.py").status_code == 404


def test_entries_json_filters_and_cursor(gw: LocalGateway, client: httpx.Client) -> None:
    gw.deny("no-secrets", pattern="password")
    client.post(CHAT, json=chat_body(), headers={protocol.USER_HEADER: "alice"})
    client.post(CHAT, json=chat_body("password"), headers={protocol.USER_HEADER: "bob"})
    client.post(
        protocol.chat_completions_path("google-prod"),
        json=chat_body(),
        headers={protocol.TRACE_ID_HEADER: "t-9", protocol.METADATA_HEADER_PREFIX + "team": "x"},
    )
    everything = client.get(ENTRIES).json()
    assert [e["status"] for e in everything["entries"]] == [200, 403, 200]  # newest first
    assert everything["entries"][1]["rule"] == "no-secrets"
    assert everything["entries"][0]["metadata"] == {"team": "x"}
    assert everything["total"] == 3 and everything["dropped"] == 0

    def users(**params: str) -> list[str | None]:
        return [e["user"] for e in client.get(ENTRIES, params=params).json()["entries"]]

    assert users(user="bob") == ["bob"]
    assert users(status="4xx") == ["bob"]
    assert users(status="200") == [None, "alice"]
    assert users(connection="google-prod") == [None]
    assert users(trace_id="t-9") == [None]
    assert client.get(ENTRIES, params={"status": "teapot"}).status_code == 400
    last = everything["last"]
    client.post(CHAT, json=chat_body(), headers={protocol.USER_HEADER: "carol"})
    assert users(after=str(last)) == ["carol"]
