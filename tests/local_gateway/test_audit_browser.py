"""The audit page in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped (saying so) only when no Chromium is installed; CI installs it (``make browser``).
Set ``IGRIS_AUDIT_SCREENSHOT=<file.png>`` to save a screenshot of the page (the README's).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from igris_core import protocol
from igris_core._errors import IgrisPolicyDeniedError
from igris_core.local_gateway import LocalGateway
from langchain_igris import ChatIgris

CHROMIUM = os.environ.get("IGRIS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium (make browser) to run this test",
)


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh page of a headless Chromium (the system's, never a downloaded one)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 640})
        finally:
            browser.close()


def test_calls_appear_live_and_filter(gw: LocalGateway, page: Page) -> None:
    gw.deny("no-secrets", pattern="(?i)password")
    page.goto(gw.base_url + "/")
    page.fill("#key", "ig_not_this_one")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("does not accept")
    page.fill("#key", gw.api_key)
    page.click("button[type=submit]")
    expect(page.locator("#counts")).to_contain_text("0 shown", timeout=2000)

    llm = ChatIgris(
        model="@openai-prod/gpt-4o",
        base_url=gw.base_url,
        api_key=gw.api_key,
        igris_trace_id="demo-run-1",
        max_retries=0,
    )
    llm.invoke("What is the capital of France?", igris_user="alice@corp.com")
    llm.invoke("Summarise the quarterly report", igris_user="bob@corp.com")
    with pytest.raises(IgrisPolicyDeniedError, match="no-secrets"):
        llm.invoke("my password is hunter2", igris_user="mallory@corp.com")

    rows = page.locator("#entries tr")
    expect(rows).to_have_count(3, timeout=2000)  # live, without a reload
    newest = rows.nth(0)
    expect(newest.locator("td.user")).to_have_text("mallory@corp.com")
    expect(newest.locator("td.status")).to_have_text("403")
    expect(newest.locator("td.rule")).to_have_text("rule: no-secrets")
    expect(rows.nth(2).locator("td.user")).to_have_text("alice@corp.com")
    expect(rows.nth(2).locator("td.trace")).to_have_text("demo-run-1")
    expect(rows.nth(2).locator("td.connection")).to_have_text("openai-prod / gpt-4o")

    shot = os.environ.get("IGRIS_AUDIT_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)

    page.fill("#filter-user", "bob@corp.com")
    expect(rows).to_have_count(1, timeout=2000)
    expect(rows.nth(0).locator("td.user")).to_have_text("bob@corp.com")
    page.fill("#filter-user", "")
    page.fill("#filter-status", "4xx")
    expect(rows).to_have_count(1, timeout=2000)
    expect(rows.nth(0).locator("td.rule")).to_have_text("rule: no-secrets")
    with pytest.raises(IgrisPolicyDeniedError):  # new calls still arrive, filtered
        llm.invoke("another password", igris_user="eve@corp.com")
    expect(rows).to_have_count(2, timeout=2000)
    llm.invoke("an allowed call", igris_user="eve@corp.com")
    page.wait_for_timeout(700)
    expect(rows).to_have_count(2)  # filtered out
    assert protocol.LOCAL_AUDIT_PAGE_PATH in page.url
