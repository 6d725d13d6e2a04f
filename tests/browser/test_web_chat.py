"""A person in a browser (the `photo` web app, encryption in the page) and a person on the Python SDK
(`chat`) write to each other, both directions, through the real server. Afterwards none of the
plaintexts appears in the server's database files or its log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from passerelle.sdk import Client
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

BOB_PHONE = "+33612345678"
PW = "correct horse battery"
WAIT_MS = 15_000


async def open_app(browser: Browser, server: ServerHandle, app: str) -> Page:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/app/{app}/")
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert not errors, errors
    return page


async def message_shown(page: Page, text: str) -> None:
    await page.locator("#messages li .body", has_text=text).first.wait_for(timeout=WAIT_MS)


async def test_browser_and_sdk_talk_both_ways(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    await Client.request_code(server.url, "chat", BOB_PHONE)
    bob = await Client.register(
        server.url,
        tmp_path / "bob",
        app="chat",
        phone=BOB_PHONE,
        code=server.inbox.code_for(BOB_PHONE),
        display_name="Bob",
    )
    watch = Watcher(bob)
    await bob.connect()
    try:
        page = await open_app(browser, server, "photo")
        assert await page.title() == "Photo"
        await page.get_by_label("Handle").fill("alice")
        await page.get_by_label("Display name (optional)").fill("Alice")
        await page.get_by_label("Password (8 characters or more)").fill(PW)
        await page.get_by_role("button", name="Create account").click()
        await page.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)
        assert await page.inner_text("#me") == "photo:alice"

        await page.get_by_label("Find a person by address", exact=False).fill(f"chat:{BOB_PHONE}")
        await page.get_by_role("button", name="Find", exact=True).click()
        await page.wait_for_selector("#composer:not([hidden])", timeout=WAIT_MS)
        # bob's phone number is never shown to someone of another app
        assert BOB_PHONE not in await page.inner_text("#thread-title")

        alice = await bob.lookup("photo:alice")
        plaintexts: list[str] = []

        async def from_browser(text: str) -> None:
            plaintexts.append(text)
            await page.get_by_label("Message", exact=True).fill(text)
            await page.get_by_label("Message", exact=True).press("Enter")
            got = await watch.text(text)
            assert got.sender == alice.account_id and not got.outgoing

        async def from_sdk(text: str) -> None:
            plaintexts.append(text)
            await bob.send_text(alice.account_id, text)
            await message_shown(page, text)

        await from_browser("Bonjour Bob, depuis le navigateur 🌐")
        await from_browser("Encore un message avant ta réponse")  # a second pre-key message
        await from_sdk("Salut Alice, bien reçu dans le terminal ☎️")
        await from_browser("Parfait, la session est établie des deux côtés")  # a normal message
        await from_sdk("Et la réponse repart aussi ✓")

        # The messages keep their order and their senders on the page.
        bodies = await page.locator("#messages li .body").all_inner_texts()
        assert bodies == plaintexts
        await page.screenshot(path=str(artifacts / "photo-web-and-chat-sdk.png"), full_page=True)

        # A reload restores the device from IndexedDB (keys wrapped by a non-extractable key).
        await page.reload()
        await page.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)
        await page.get_by_role("button", name="Bob").click()
        assert await page.locator("#messages li .body").all_inner_texts() == plaintexts
        await from_sdk("Toujours là après le rechargement ?")
        await from_browser("Oui, et la clé ne quitte pas la page")
    finally:
        await bob.close()
    assert_absent(plaintexts, server.server_files())
