"""What the browser tests share: opening an app's page, registering in it, finding people, writing
and waiting for what a person sees."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

from tests.conftest import ServerHandle

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

PW = "correct horse battery"
WAIT_MS = 15_000


def tiny_png(marker: bytes, width: int = 160, height: int = 100) -> bytes:
    """A valid PNG (a colour gradient) carrying ``marker`` in a text chunk, to search the server for."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 190))
        for y in range(height)
    )
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", b"c\x00" + marker),
            chunk(b"IDAT", zlib.compress(b"".join(rows))),
            chunk(b"IEND", b""),
        ]
    )


async def open_app(browser: Browser, server: ServerHandle, app: str) -> Page:
    return await open_app_at(browser, server.url, app)


async def open_app_at(browser: Browser, base_url: str, app: str) -> Page:
    """The page of ``app`` on the server at ``base_url``, ready, with no script error."""
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base_url}/app/{app}/")
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert not errors, errors
    return page


async def message_shown(page: Page, text: str) -> None:
    await page.locator("#messages li .body", has_text=text).first.wait_for(timeout=WAIT_MS)


async def register_in_browser(page: Page, fields: dict[str, str], button: str = "Create account") -> None:
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_role("button", name=button).click()
    await page.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)


async def photo_person(browser: Browser, server: ServerHandle, handle: str, name: str) -> Page:
    """Someone signs up on the photo app's page with a handle, a display name and a password."""
    page = await open_app(browser, server, "photo")
    fields = {"Handle": handle, "Display name (optional)": name, "Password (8 characters or more)": PW}
    await register_in_browser(page, fields)
    return page


async def chat_person(browser: Browser, server: ServerHandle, phone: str, name: str) -> Page:
    """Someone signs up on the chat app's page: their phone number, the code the server texts, a name."""
    page = await open_app(browser, server, "chat")
    await page.get_by_label("Phone number", exact=False).fill(phone)
    await page.get_by_role("button", name="Send me a code").click()
    await page.locator("#f-code:focus").wait_for(timeout=WAIT_MS)
    await register_in_browser(page, {"Code": server.inbox.code_for(phone), "Your name": name})
    return page


async def write(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_label("Message", exact=True).press("Enter")
    sent = "#messages li.mine:not([data-status=sending]) .body"
    await page.locator(sent, has_text=text).wait_for(timeout=WAIT_MS)


async def find(page: Page, address: str, name: str) -> None:
    await page.get_by_label("Find a person by address", exact=False).fill(address)
    await page.get_by_role("button", name="Find", exact=True).click()
    await page.locator("#thread-title", has_text=name).wait_for(timeout=WAIT_MS)


async def open_conversation(page: Page, name: str) -> None:
    await page.locator("#convs button", has_text=name).first.click(timeout=WAIT_MS)
