"""Privacy from the page (docs/protocol.md sections 9.4, 9.6, 9.7, 12.1): alice on the photo web app
chooses who may write to her and who sees when she was last online, and whether her stories cross
apps; she manages her contacts and blocks, downloads what the server holds about her, then erases her
account. bob, on the Python SDK, sees each choice take effect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from passerelle.sdk.errors import Forbidden, NotFound
from tests.browser.pages import PW, WAIT_MS, find, message_shown, photo_person, register_in_browser
from tests.conftest import ServerHandle

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

BOB_PHONE = "+33655667788"


async def choose(page: Page, label: str, value: str) -> None:
    """Picks a setting and waits until the server saved it."""
    async with page.expect_response(
        lambda r: "/v1/me/privacy" in r.url and r.request.method == "PATCH"
    ) as saved:
        await page.get_by_label(label).select_option(value)
    assert (await saved.value).status == 200


async def test_privacy_settings_export_and_erasure(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    alice = await photo_person(browser, server, "alice", "Alice")
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    await bob.connect()
    try:
        alice_id = (await bob.lookup("photo:alice")).account_id
        settings = alice.get_by_text("Settings and devices")
        await settings.click()
        await alice.get_by_label("Who can start a conversation with me").wait_for(timeout=WAIT_MS)

        # only contacts may write to her: bob, a stranger, is refused
        await choose(alice, "Who can start a conversation with me", "contacts")
        with pytest.raises(Forbidden):
            await bob.send_text(alice_id, "Bonjour, on ne se connaît pas")
        await choose(alice, "Who can start a conversation with me", "everyone")
        await bob.send_text(alice_id, "Bonjour Alice, c'est Bob")

        # last seen: hidden from everyone, then shown to everyone (bob sees it, and she sees his)
        await choose(alice, "Who sees when I was last online", "nobody")
        assert await bob.privacy.last_seen(alice_id) is None
        await choose(alice, "Who sees when I was last online", "everyone")
        assert await bob.privacy.last_seen(alice_id) is not None
        await bob.privacy.settings(last_seen="everyone")
        await find(alice, f"chat:{BOB_PHONE}", "Bob")
        await message_shown(alice, "Bonjour Alice, c'est Bob")
        await alice.locator("#last-seen", has_text="Last seen today at").wait_for(timeout=WAIT_MS)

        # read receipts off: bob gets no read receipt for what alice reads next
        async with alice.expect_response(lambda r: "/v1/me/privacy" in r.url) as saved:
            await alice.get_by_label("Send read receipts").uncheck()
        assert (await (await saved.value).json())["read_receipts"] is False

        # stories stay on her app when she says so
        async with alice.expect_response(lambda r: "/v1/stories/settings" in r.url) as crossed:
            await alice.get_by_label("Show my stories to my contacts on other apps").uncheck()
        assert await (await crossed.value).json() == {"cross_app": False}

        # contacts and blocks, listed with a way back
        await alice.get_by_role("button", name="Accept").click()  # accepting makes bob a contact
        await settings.click()
        await settings.click()
        contact = alice.locator("#contact-list li", has_text="Bob")
        await contact.wait_for(timeout=WAIT_MS)
        await alice.get_by_role("button", name="Remove from contacts Bob", exact=False).click()
        await contact.wait_for(state="detached", timeout=WAIT_MS)
        await alice.locator("#contact-list li", has_text="Nobody").wait_for(timeout=WAIT_MS)
        await alice.get_by_role("button", name="Block", exact=True).click()
        await alice.get_by_role("button", name="Unblock", exact=True).wait_for(timeout=WAIT_MS)
        await settings.click()
        await settings.click()
        await alice.locator("#block-list li", has_text="Bob").wait_for(timeout=WAIT_MS)
        await alice.get_by_role("button", name="Unblock Bob", exact=False).click()
        await alice.locator("#block-list li", has_text="Nobody").wait_for(timeout=WAIT_MS)
        await alice.screenshot(path=str(artifacts / "photo-web-privacy-settings.png"), full_page=True)

        # her data, as the server holds it
        async with alice.expect_download() as downloading:
            await alice.get_by_role("button", name="Download what the server holds about me").click()
        download = await downloading.value
        assert download.suggested_filename == "passerelle-photo-export.json"
        exported = json.loads((await download.path()).read_text())
        assert exported["format"] == "passerelle-export-1"
        assert exported["account"]["alias"] == "alice"
        assert exported["settings"]["message_from"] == "everyone"
        assert exported["settings"]["last_seen"] == "everyone"

        # erasure: a wrong password is refused with a readable error; the right one erases
        await alice.get_by_label("Your password").fill("not the password")
        await alice.get_by_label("I understand that this cannot be undone").check()
        await alice.get_by_role("button", name="Erase my account for good").click()
        await alice.locator("#error", has_text="check what you typed").wait_for(timeout=WAIT_MS)
        await alice.get_by_label("Your password").fill(PW)
        await alice.get_by_role("button", name="Erase my account for good").click()
        await alice.locator("#erased", has_text="Your account was erased").wait_for(timeout=WAIT_MS)
        await alice.get_by_role("button", name="Create account").wait_for(timeout=WAIT_MS)
        with pytest.raises(NotFound):
            await bob.lookup("photo:alice")
        # the alias is free at once, and the page can make a new account with it
        await register_in_browser(alice, {"Handle": "alice", "Password (8 characters or more)": PW})
        assert (await bob.lookup("photo:alice")).account_id != alice_id
    finally:
        await bob.close()
