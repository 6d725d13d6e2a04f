"""Megolm key requests between a page and the Python SDK (docs/protocol.md section 10.4): a group body
whose key never reached a device is kept, the device asks the sender for the key (``p.key_request``),
and the sender's answer (``p.forwarded_room_key``) opens it. Both directions: the page asks the SDK,
and the SDK asks the page."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import Client
from tests.browser.pages import WAIT_MS, message_shown, photo_person, write
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser

DAVE_PHONE = "+33644556677"


async def test_group_keys_are_asked_for_and_given(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    plaintexts: list[str] = []
    alice = await photo_person(browser, server, "alice", "Alice")
    dave = await server.register_phone(tmp_path / "dave", DAVE_PHONE, display_name="Dave")
    watch = Watcher(dave)
    await dave.connect()
    try:
        await alice.get_by_text("New group").click()
        await alice.get_by_label("Group name").fill("Les clés")
        await alice.get_by_label("Addresses of the people to add", exact=False).fill(f"chat:{DAVE_PHONE}")
        await alice.get_by_role("button", name="Create the group").click()
        await alice.locator("#members", has_text="Dave").wait_for(timeout=WAIT_MS)
        plaintexts += ["Les clés", "Premier message du groupe", "Réponse de Dave"]
        await write(alice, "Premier message du groupe")
        conv = (await watch.text("Premier message du groupe")).conv
        await dave.groups.send_text(conv, "Réponse de Dave")
        await message_shown(alice, "Réponse de Dave")

        # The page asks. Dave's next session is marked as given to the page, but its key never goes
        # (as if the share was lost); dave then goes offline.
        alice_id = (await dave.lookup("photo:alice")).account_id
        keys = dave.groups.keys
        megolm = await keys.megolm()
        megolm.new_outbound(conv, int(time.time() * 1000))
        megolm.mark_shared(conv, [d.device_id for d in await keys.devices.devices(AccountId(alice_id))])
        await keys.save()
        lost = "Ce message est parti sans sa clé"
        plaintexts.append(lost)
        await dave.groups.send_text(ConversationId(conv), lost)
        await dave.close()
        waiting = alice.locator("#messages li.notice", has_text="A message from Dave is waiting for its key")
        await waiting.wait_for(timeout=WAIT_MS)
        await alice.screenshot(path=str(artifacts / "photo-web-group-waiting-for-key.png"), full_page=True)

        # Dave also loses the page's session (his store forgets it) before he comes back.
        with sqlite3.connect(tmp_path / "dave" / "client.db") as db:
            assert db.execute("DELETE FROM megolm_inbound WHERE sender = ?", (alice_id,)).rowcount > 0
        dave = await Client.open(tmp_path / "dave")
        watch = Watcher(dave)
        await dave.connect()
        # dave's SDK answers the page's request: the message opens and the waiting line goes
        await message_shown(alice, lost)
        await waiting.wait_for(state="detached", timeout=WAIT_MS)
        assert await alice.locator("#error").is_hidden()

        # The SDK asks: the page's next message is on the session dave lost; his SDK asks the page,
        # which answers with its own session, exported, and dave reads it.
        plaintexts.append("Tu me lis encore, Dave ?")
        await write(alice, "Tu me lis encore, Dave ?")
        got = await watch.text("Tu me lis encore, Dave ?")
        assert got.conv == conv and got.sender == alice_id
        assert [m.text for m in await dave.history(conv)].count("Tu me lis encore, Dave ?") == 1
    finally:
        await dave.close()
    assert_absent(plaintexts, server.server_files())
