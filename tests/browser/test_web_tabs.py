"""Where the keys live, and which tab owns them (docs/security.md, "Keys at rest in the browser"): the
page's own script has no Olm in it; the keys, sessions and Olm/Megolm run in a dedicated worker that
seals what it stores in IndexedDB under a non-extractable key. One tab of an app owns the device; a
second tab of the same browser can take it over (Web Locks and a BroadcastChannel), and back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.pages import (
    WAIT_MS,
    find,
    message_shown,
    photo_person,
    write,
)
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

BOB_PHONE = "+33677889900"

STORED = """async () => {
  const db = await new Promise((ok, ko) => {
    const open = indexedDB.open("passerelle");
    open.onsuccess = () => ok(open.result);
    open.onerror = () => ko(open.error);
  });
  const get = (key) => new Promise((ok) => {
    const req = db.transaction("state").objectStore("state").get(key);
    req.onsuccess = () => ok(req.result);
  });
  const key = await get("key:photo");
  const out = {key: {type: key.constructor.name, extractable: key.extractable, usages: key.usages}};
  for (const name of ["crypto", "state"]) {
    const sealed = await get(`${name}:photo`);
    const bytes = new Uint8Array(sealed.data);
    out[name] = {iv: sealed.iv.length, size: bytes.length, text: new TextDecoder("latin1").decode(bytes)};
  }
  return out;
}"""


async def take_over(page: Page) -> None:
    await page.get_by_role("button", name="Use the app in this tab").click()
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    await page.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)


async def test_keys_live_in_a_worker_and_one_tab_owns_them(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    first = await photo_person(browser, server, "alice", "Alice")

    # the crypto runs in a worker; the page's own bundle has no Olm in it
    assert [w.url for w in first.workers if w.url.endswith("/assets/crypto-worker.js")]
    bundle = await first.evaluate("async () => (await fetch('assets/app.js')).text()")
    worker = await first.evaluate("async () => (await fetch('assets/crypto-worker.js')).text()")
    assert "_olm_" not in bundle and "_olm_" in worker

    # what the browser stores is sealed: a non-extractable AES-GCM key, and two opaque records
    stored = await first.evaluate(STORED)
    assert stored["key"] == {"type": "CryptoKey", "extractable": False, "usages": ["encrypt", "decrypt"]}
    for record in ("crypto", "state"):
        assert stored[record]["iv"] == 12 and stored[record]["size"] > 100
        for plain in ("pickleKey", "account", "alice", "token"):
            assert plain not in stored[record]["text"]

    # a second tab of the same browser: it says the app is open elsewhere, and can take it over
    second = await first.context.new_page()
    await second.goto(f"{server.url}/app/photo/")
    await second.wait_for_selector("body[data-ready=elsewhere]", timeout=WAIT_MS)
    assert "already open in another tab" in await second.inner_text("#error")
    await take_over(second)
    assert await second.inner_text("#me") == "photo:alice"
    await first.wait_for_selector("body[data-ready=elsewhere]", timeout=WAIT_MS)
    assert "now open in another tab" in await first.inner_text("#error")
    assert await first.locator("#composer").count() == 0
    await first.screenshot(path=str(artifacts / "photo-web-tab-handed-over.png"))

    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    watch = Watcher(bob)
    await bob.connect()
    plaintexts = ["Tu es dans quel onglet ?", "Dans le second", "De retour dans le premier"]
    try:
        # the tab that took over is the device: it gets and sends messages
        alice_id = (await bob.lookup("photo:alice")).account_id
        await bob.send_text(alice_id, plaintexts[0])
        await find(second, f"chat:{BOB_PHONE}", "Bob")
        await message_shown(second, plaintexts[0])
        await write(second, plaintexts[1])
        assert (await watch.text(plaintexts[1])).sender == alice_id

        # and the first tab takes it back: the same device, its sessions as the second tab left them
        await first.get_by_role("button", name="Use the app in this tab").click()  # reloads
        await first.wait_for_selector("body[data-ready=elsewhere]", timeout=WAIT_MS)
        await take_over(first)
        await second.wait_for_selector("body[data-ready=elsewhere]", timeout=WAIT_MS)
        await first.locator("#convs button", has_text="Bob").first.click(timeout=WAIT_MS)
        await message_shown(first, plaintexts[1])
        await write(first, plaintexts[2])
        assert (await watch.text(plaintexts[2])).sender == alice_id
    finally:
        await bob.close()
    assert_absent(plaintexts, server.server_files())
