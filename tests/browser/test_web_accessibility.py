"""Accessibility of the web apps, checked by hand as axe would (no third-party checker is bundled):
every control has an accessible name, every image a text alternative, ids are unique, headings do
not skip a level, live regions announce what changes; and a person can do the essentials with the
keyboard alone (find someone, write, reply), the focus going where the next step is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.pages import PW, WAIT_MS, message_shown, open_app, tiny_png
from tests.conftest import ServerHandle
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, FilePayload, Page

BOB_PHONE = "+33688990011"

# The rules, run in the page on what is rendered (hidden parts included: they show later).
AUDIT = """() => {
  const problems = [];
  const name = (el) => {
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ").trim();
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label").trim();
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ").trim();
    return "";
  };
  const what = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + el.className : ""}`;
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (!name(el)) problems.push(`no label: ${what(el)}`);
  }
  for (const el of document.querySelectorAll("button, summary, a[href]")) {
    if (!name(el) && !el.textContent.trim()) problems.push(`no name: ${what(el)}`);
  }
  for (const el of document.querySelectorAll("img")) {
    if (!el.hasAttribute("alt")) problems.push(`no alt: ${what(el)}`);
  }
  for (const el of document.querySelectorAll("video, audio")) {
    if (!name(el)) problems.push(`no name: ${what(el)}`);
  }
  const ids = [...document.querySelectorAll("[id]")].map((el) => el.id);
  for (const id of new Set(ids)) if (ids.filter((x) => x === id).length > 1) problems.push(`duplicate id: ${id}`);
  for (const el of document.querySelectorAll("label[for]")) {
    if (!document.getElementById(el.htmlFor)) problems.push(`label for a missing control: ${el.htmlFor}`);
  }
  for (const el of document.querySelectorAll("[aria-labelledby], [aria-controls]")) {
    for (const attr of ["aria-labelledby", "aria-controls"]) {
      for (const id of (el.getAttribute(attr) || "").split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) problems.push(`${attr} names a missing element: ${id}`);
      }
    }
  }
  let level = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading skips a level: ${h.tagName} "${h.textContent.trim()}" after h${level}`);
    level = next;
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  if (!document.documentElement.lang) problems.push("no lang on the page");
  for (const id of ["error", "status", "messages", "typing"]) {
    const el = document.getElementById(id);
    if (el && !el.getAttribute("role") && !el.getAttribute("aria-live")) problems.push(`not announced: #${id}`);
  }
  return problems;
}"""


async def audit(page: Page, where: str) -> None:
    problems = await page.evaluate(AUDIT)
    assert problems == [], f"{where}: {problems}"


async def focused(page: Page) -> str:
    return str(await page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


async def test_the_apps_are_accessible(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    watch = Watcher(bob)
    await bob.connect()
    try:
        # the forms of the three apps, before anyone has an account
        pages = {}
        for app in ("chat", "photo", "social"):
            pages[app] = await open_app(browser, server, app)
            await audit(pages[app], f"{app}: sign-up")
            await pages[app].get_by_role("button", name="I have an account: log in").click()
            await audit(pages[app], f"{app}: log-in")
            await pages[app].get_by_role("button", name="I am new here: create an account").click()
        alice = pages["photo"]
        # the checker itself finds what it looks for
        await alice.evaluate(
            "() => document.body.append(Object.assign(document.createElement('input'), {id: 'probe'}))"
        )
        assert "no label: input#probe" in await alice.evaluate(AUDIT)
        await alice.evaluate("() => document.getElementById('probe').remove()")

        # sign-up with the keyboard alone: the first field has the focus, Tab moves, Enter submits
        assert await focused(alice) == "f-handle"
        await alice.keyboard.type("alice")
        await alice.keyboard.press("Tab")
        await alice.keyboard.type("Alice")
        await alice.keyboard.press("Tab")
        await alice.keyboard.type(PW)
        await alice.keyboard.press("Enter")
        await alice.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)
        await audit(alice, "photo: signed in")

        # find bob and write to him without the mouse: the composer takes the focus
        await alice.get_by_label("Find a person by address", exact=False).focus()
        await alice.keyboard.type(f"chat:{BOB_PHONE}")
        await alice.keyboard.press("Enter")
        await alice.locator("#f-text:focus").wait_for(timeout=WAIT_MS)
        await alice.keyboard.type("Bonjour Bob, au clavier")
        await alice.keyboard.press("Enter")
        assert (await watch.text("Bonjour Bob, au clavier")).text == "Bonjour Bob, au clavier"
        alice_id = (await bob.lookup("photo:alice")).account_id
        await bob.send_text(alice_id, "Bien reçu")
        await message_shown(alice, "Bien reçu")
        # reply with the keyboard: the message's Reply button is reachable, and it focuses the composer
        reply = alice.locator("#messages li", has_text="Bien reçu").get_by_role(
            "button", name="Reply to this message"
        )
        await reply.focus()
        await alice.keyboard.press("Enter")
        assert await focused(alice) == "f-text"
        await alice.keyboard.type("Réponse au clavier")
        await alice.keyboard.press("Enter")
        got = await watch.text("Réponse au clavier")
        assert got.reply_to is not None

        # with more on the page: a photo, a group with its panel, the settings, a story
        photo: FilePayload = {"name": "a.png", "mimeType": "image/png", "buffer": tiny_png(b"a11y")}
        await alice.set_input_files("#f-file", files=photo)
        await alice.locator("#messages img.photo[src^='blob:']").wait_for(timeout=WAIT_MS)
        await alice.get_by_text("New group").click()
        await alice.get_by_label("Group name").fill("Accessible")
        await alice.get_by_label("Addresses of the people to add", exact=False).fill(f"chat:{BOB_PHONE}")
        await alice.get_by_role("button", name="Create the group").click()
        await alice.locator("#members", has_text="Bob").wait_for(timeout=WAIT_MS)
        await alice.get_by_text("Group name and picture").click()
        await alice.get_by_text("Invite links").click()
        await alice.get_by_role("button", name="Create an invite link").click()
        await alice.get_by_label("The new invite link").wait_for(timeout=WAIT_MS)
        await alice.get_by_text("Settings and devices").click()
        await alice.locator("#contact-list").wait_for(timeout=WAIT_MS)
        await alice.get_by_label("Story text, or a caption", exact=False).fill("Une histoire")
        await alice.get_by_role("button", name="Post the story").click()
        await alice.locator("#story-list button", has_text="You").click()
        await alice.locator("#story-who:focus").wait_for(timeout=WAIT_MS)
        await audit(alice, "photo: everything open")
        await alice.screenshot(path=str(artifacts / "photo-web-everything-open.png"), full_page=True)

        # the chat app signed in, its settings open (it shows no stories)
        chat = pages["chat"]
        carol_phone = "+33699001122"
        await chat.get_by_label("Phone number", exact=False).fill(carol_phone)
        await chat.get_by_role("button", name="Send me a code").click()
        await chat.locator("#f-code:focus").wait_for(timeout=WAIT_MS)
        await chat.keyboard.type(server.inbox.code_for(carol_phone))
        await chat.get_by_label("Your name").fill("Carol")
        await chat.keyboard.press("Enter")
        await chat.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)
        await chat.get_by_text("Settings and devices").click()
        await chat.locator("#contact-list").wait_for(timeout=WAIT_MS)
        await audit(chat, "chat: settings open")

        # a phone-width screen: the same page, one column
        await alice.set_viewport_size({"width": 390, "height": 844})
        width = await alice.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
        await alice.screenshot(path=str(artifacts / "photo-web-phone.png"), full_page=True)
    finally:
        await bob.close()
