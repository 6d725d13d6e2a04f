"""The interactive API docs at ``/docs`` in a real browser: Swagger UI loads from the server itself
under the web apps' CSP (no violation, no request to another origin), lists the operations of both
generated documents, and calls the server ("Try it out")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ServerHandle

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Request

pytestmark = pytest.mark.settings(admin_token="operator-secret-token-0123456789")


async def test_the_docs_page_lists_both_apis_and_calls_the_server(
    browser: Browser, server: ServerHandle, artifacts: Path
) -> None:
    page = await browser.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    def request(req: Request) -> None:
        if not req.url.startswith(server.url) and not req.url.startswith("data:"):
            elsewhere.append(req.url)

    page.on("console", console)
    page.on("request", request)
    await page.goto(f"{server.url}/docs")
    await page.locator("#operations-Conversations-post_v1_conversations").wait_for(timeout=30_000)
    assert await page.locator(".opblock").count() > 70

    healthz = page.locator("#operations-Operations-get_healthz")
    await healthz.locator(".opblock-summary").click()
    await healthz.get_by_role("button", name="Try it out").click()
    await healthz.get_by_role("button", name="Execute").click()
    status = healthz.locator(".live-responses-table tbody .response-col_status").first
    await status.wait_for(timeout=10_000)
    assert (await status.inner_text()).strip().startswith("200")

    await page.locator("select#select").select_option(label="Business API (WhatsApp Cloud API compatible)")
    await page.locator("#operations-Business_API-post_phone_number_id_block_users").wait_for(timeout=30_000)
    await page.screenshot(path=artifacts / "api-docs.png")
    assert not problems, problems
    assert not elsewhere, elsewhere
