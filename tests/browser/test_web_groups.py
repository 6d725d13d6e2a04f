"""Groups in the browser (docs/protocol.md section 10): alice (photo) makes a group with bob (chat) in
their pages and dave on the Python SDK. Receipts and typing per member, a rename by a member who is
not an admin, a group picture encrypted in the page, admin rights given and taken back, an invite
link that carol (social) follows from her page, then revoked. None of the names, texts or picture
bytes reaches the server's files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from passerelle.sdk import TypingEvent
from passerelle.sdk.errors import NotFound
from tests.browser.pages import (
    PW,
    WAIT_MS,
    chat_person,
    message_shown,
    open_app,
    open_conversation,
    photo_person,
    register_in_browser,
    tiny_png,
    write,
)
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, FilePayload

BOB_PHONE = "+33622334455"
DAVE_PHONE = "+33633445566"


async def test_groups_in_the_page(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    plaintexts: list[str] = []
    alice = await photo_person(browser, server, "alice", "Alice")
    bob = await chat_person(browser, server, BOB_PHONE, "Bob")
    carol = await open_app(browser, server, "social")
    await register_in_browser(
        carol, {"Username": "marie.d", "Your real name": "Marie", "Password (8 characters or more)": PW}
    )
    dave = await server.register_phone(tmp_path / "dave", DAVE_PHONE, display_name="Dave")
    watch = Watcher(dave)
    await dave.connect()
    try:
        # alice makes the group; her first message reaches bob's page and dave's SDK
        await alice.get_by_text("New group").click()
        await alice.get_by_label("Group name").fill("Brunch")
        await alice.get_by_label("Addresses of the people to add", exact=False).fill(
            f"chat:{BOB_PHONE} chat:{DAVE_PHONE}"
        )
        await alice.get_by_role("button", name="Create the group").click()
        await alice.locator("#members", has_text="Dave").wait_for(timeout=WAIT_MS)
        plaintexts += ["Brunch", "On se retrouve à 11 h ?"]
        await write(alice, "On se retrouve à 11 h ?")
        first = await watch.text("On se retrouve à 11 h ?")
        await open_conversation(bob, "Brunch")
        await message_shown(bob, "On se retrouve à 11 h ?")

        # receipts per member: bob's page read it (it is open), dave reads it on the SDK
        mine = alice.locator("#messages li.mine", has_text="On se retrouve")
        await mine.locator(".state", has_text="Read by Bob").wait_for(timeout=WAIT_MS)
        await dave.mark_read(first.conv, [first.id or 0])
        await mine.locator(".state", has_text="Read by everyone").wait_for(timeout=WAIT_MS)

        # typing in the group, both ways
        await dave.set_typing(first.conv, True)
        await alice.locator("#typing", has_text="Dave is typing").wait_for(timeout=WAIT_MS)
        await bob.get_by_label("Message", exact=True).press_sequentially("J'arr")
        typing = await watch.next(TypingEvent, lambda e: e.conv == first.conv and e.typing)
        assert typing.sender != dave.account_id
        await alice.locator("#typing", has_text="Bob").wait_for(timeout=WAIT_MS)
        plaintexts.append("J'arrive avec des croissants")
        await bob.get_by_label("Message", exact=True).fill("J'arrive avec des croissants")
        await bob.get_by_label("Message", exact=True).press("Enter")
        await message_shown(alice, "J'arrive avec des croissants")
        await watch.text("J'arrive avec des croissants")

        # bob (a member, not an admin) renames the group; everyone sees the new name
        plaintexts.append("Brunch du dimanche")
        await bob.get_by_text("Group name and picture").click()
        await bob.get_by_label("The group's name").fill("Brunch du dimanche")
        await bob.get_by_role("button", name="Rename").click()
        await alice.locator(
            "#messages li.notice", has_text="Bob named the group “Brunch du dimanche”"
        ).wait_for(timeout=WAIT_MS)
        await alice.locator("#thread-title", has_text="Brunch du dimanche").wait_for(timeout=WAIT_MS)
        for _ in range(100):
            if (await dave.groups.info(first.conv)).name == "Brunch du dimanche":
                break
            await alice.wait_for_timeout(100)
        assert (await dave.groups.info(first.conv)).name == "Brunch du dimanche"

        # alice sets the group's picture, encrypted in her page: bob's page shows it, dave decrypts it
        picture = tiny_png(b"group-picture-5521", width=120, height=120)
        plaintexts.append("group-picture-5521")
        await alice.get_by_text("Group name and picture").click()
        payload: FilePayload = {"name": "brunch.png", "mimeType": "image/png", "buffer": picture}
        await alice.get_by_label("Group picture").set_input_files(files=payload)
        await bob.locator("#messages li.notice", has_text="Alice changed the group's picture").wait_for(
            timeout=WAIT_MS
        )
        await bob.locator("#group-avatar[src^='blob:']").wait_for(timeout=WAIT_MS)
        await bob.wait_for_function(
            "() => document.querySelector('#group-avatar').naturalWidth === 120", timeout=WAIT_MS
        )
        for _ in range(100):
            if (await dave.groups.info(first.conv)).avatar is not None:
                break
            await alice.wait_for_timeout(100)
        avatar = (await dave.groups.info(first.conv)).avatar
        assert avatar is not None and await dave.media.download(avatar) == picture

        # admin rights: alice makes bob an admin, and his page offers him the admin controls; then
        # she takes them back
        bob_id = (await dave.lookup(f"chat:{BOB_PHONE}")).account_id
        await alice.get_by_role("button", name="Make Bob an admin").click()
        await bob.locator(f"#member-list li[data-account='{bob_id}']", has_text="(admin)").wait_for(
            timeout=WAIT_MS
        )
        await bob.locator("#add-members").wait_for(timeout=WAIT_MS)
        assert bob_id in (await dave.groups.info(first.conv)).admins
        await bob.locator("#messages li.notice", has_text="Alice made you an admin").wait_for(timeout=WAIT_MS)
        await alice.get_by_role("button", name="Take Bob's admin rights away").click()
        await bob.locator("#add-members").wait_for(state="detached", timeout=WAIT_MS)
        assert bob_id not in (await dave.groups.info(first.conv)).admins

        # an invite link: alice makes one, carol follows it from her page
        await alice.get_by_text("Invite links").click()
        await alice.get_by_role("button", name="Create an invite link").click()
        link = await alice.get_by_label("The new invite link").input_value()
        assert link.startswith(f"{server.url}/app/photo/#join=")
        await carol.get_by_text("Join a group").click()
        await carol.get_by_label("Invite link").fill(link)
        await carol.get_by_role("button", name="Join the group").click()
        await carol.locator("#members", has_text="Alice").wait_for(timeout=WAIT_MS)
        await alice.locator("#messages li.notice", has_text="Marie joined").wait_for(timeout=WAIT_MS)
        # carol gets the name and the picture with the next message's key
        plaintexts.append("Bienvenue Marie !")
        await write(alice, "Bienvenue Marie !")
        await message_shown(carol, "Bienvenue Marie !")
        await carol.locator("#thread-title", has_text="Brunch du dimanche").wait_for(timeout=WAIT_MS)
        await carol.locator("#group-avatar[src^='blob:']").wait_for(timeout=WAIT_MS)
        plaintexts.append("Merci, à dimanche")
        await write(carol, "Merci, à dimanche")
        await message_shown(bob, "Merci, à dimanche")
        await watch.text("Merci, à dimanche")
        await alice.screenshot(path=str(artifacts / "photo-web-group-admin.png"), full_page=True)
        await carol.screenshot(path=str(artifacts / "social-web-group-joined.png"), full_page=True)

        # alice revokes the link: it no longer lets anyone in
        await alice.locator("#invite-list button", has_text="Revoke").click()
        await alice.locator("#invite-new", has_text="revoked").wait_for(timeout=WAIT_MS)
        await alice.locator("#invite-list li").wait_for(state="detached", timeout=WAIT_MS)
        with pytest.raises(NotFound):
            await dave.groups.join(link.split("#join=")[1])
    finally:
        await dave.close()
    assert_absent(plaintexts, server.server_files())
