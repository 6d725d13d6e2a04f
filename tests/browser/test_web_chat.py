"""A person in a browser (the `photo` web app, encryption in the page) and a person on the Python SDK
(`chat`) write to each other, both directions, through the real server. Afterwards none of the
plaintexts appears in the server's database files or its log."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from passerelle.sdk import Client, Message, ReceiptEvent, TimerEvent, TypingEvent
from tests.browser.pages import (
    PW,
    WAIT_MS,
    find,
    message_shown,
    open_app,
    open_conversation,
    register_in_browser,
    tiny_png,
    write,
)
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, FilePayload, Page

BOB_PHONE = "+33612345678"


async def test_browser_and_sdk_talk_both_ways(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
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

        async def from_browser(text: str) -> Message:
            plaintexts.append(text)
            await page.get_by_label("Message", exact=True).fill(text)
            await page.get_by_label("Message", exact=True).press("Enter")
            got = await watch.text(text)
            assert got.sender == alice.account_id and not got.outgoing
            return got

        async def from_sdk(text: str) -> None:
            plaintexts.append(text)
            await bob.send_text(alice.account_id, text)
            await message_shown(page, text)

        await from_browser("Bonjour Bob, depuis le navigateur 🌐")
        await from_browser("Encore un message avant ta réponse")  # a second pre-key message
        await from_sdk("Salut Alice, bien reçu dans le terminal ☎️")
        last = await from_browser("Parfait, la session est établie des deux côtés")  # a normal message
        await from_sdk("Et la réponse repart aussi ✓")

        # Receipts and typing, both ways: the page tells bob it got and read his messages, shows that
        # bob read hers, and each side sees the other typing.
        read = await watch.next(ReceiptEvent, lambda r: r.kind == "read" and r.sender == alice.account_id)
        delivered = await watch.next(ReceiptEvent, lambda r: r.kind == "delivered")
        assert delivered.sender == alice.account_id and read.conv == last.conv
        await bob.mark_read(last.conv, [last.id or 0])
        mine = page.locator("#messages li.mine", has_text="Parfait, la session")
        await mine.locator(".state", has_text="Read").wait_for(timeout=WAIT_MS)
        await bob.set_typing(last.conv, True)
        await page.locator("#typing", has_text="Bob is typing").wait_for(timeout=WAIT_MS)
        await page.get_by_label("Message", exact=True).press_sequentially("Je t")
        typing = await watch.next(TypingEvent, lambda e: e.sender == alice.account_id)
        assert typing.typing and typing.conv == last.conv
        await page.get_by_label("Message", exact=True).fill("")

        # The safety number in the page is the SDK's (docs/protocol.md section 14).
        await page.get_by_role("button", name="Safety number").click()
        digits = re.compile(r"^(\d{5} ){11}\d{5}$")
        await page.locator("#safety-number").filter(has_text=digits).wait_for(timeout=WAIT_MS)
        assert await page.inner_text("#safety-number") == await bob.safety_number(alice.account_id)

        # The messages keep their order and their senders on the page.
        bodies = await page.locator("#messages li .body").all_inner_texts()
        assert bodies == plaintexts
        await page.screenshot(path=str(artifacts / "photo-web-and-chat-sdk.png"), full_page=True)

        # A second tab of the same app in the same browser would share its device: it says so and stops.
        tab = await page.context.new_page()
        await tab.goto(f"{server.url}/app/photo/")
        await tab.wait_for_selector("body[data-ready=elsewhere]", timeout=WAIT_MS)
        assert "open in another tab" in await tab.inner_text("#error")
        await tab.close()

        # A reload restores the device from IndexedDB (keys wrapped by a non-extractable key).
        await page.reload()
        await page.wait_for_selector("#status[data-state=online]", timeout=WAIT_MS)
        await page.get_by_role("button", name="Bob").click()
        assert await page.locator("#messages li .body").all_inner_texts() == plaintexts
        await from_sdk("Toujours là après le rechargement ?")
        await from_browser("Oui, et la clé ne quitte pas la page")

        # The server drops the page's connection (as a restarting node would): it reconnects by itself
        # and both directions still work.
        hub = server.running.services.hub
        (dropped,) = [c for c in hub.connections.values() if c.account == alice.account_id]
        dropped.close(1013, "try again later")
        await from_sdk("Envoyé après la coupure")
        await from_browser("Reconnectée toute seule")
        (again,) = [c for c in hub.connections.values() if c.account == alice.account_id]
        assert again is not dropped

        # Rich content both ways (docs/protocol.md section 11): reactions, a reply, edits and a delete.
        bobs = page.locator("#messages li", has_text="Salut Alice, bien reçu")
        await bobs.get_by_role("button", name="React 👍").click()
        reacted = await watch.next(Message, lambda m: m.reactions == ((alice.account_id, "👍"),))
        assert reacted.text == "Salut Alice, bien reçu dans le terminal ☎️"
        await bob.content.react(last, "❤️")
        await (
            page.locator("#messages li", has_text="Parfait, la session")
            .locator(".reactions", has_text="❤️ Bob")
            .wait_for(timeout=WAIT_MS)
        )
        await bobs.get_by_role("button", name="Reply to this message").click()
        reply = await from_browser("Oui, je réponds à ton message")
        assert reply.reply_to is not None and reply.reply_to.id == reacted.client_id
        mine = page.locator("#messages li", has_text="Oui, je réponds")
        assert "Salut Alice, bien reçu" in await mine.locator(".quote").inner_text()
        await mine.get_by_role("button", name="Edit this message").click()
        await page.get_by_label("Message", exact=True).fill("Oui, je réponds à ton message (corrigé)")
        await page.get_by_label("Message", exact=True).press("Enter")
        plaintexts.append("Oui, je réponds à ton message (corrigé)")
        edited = await watch.next(Message, lambda m: m.edited and m.client_id == reply.client_id)
        assert edited.text == "Oui, je réponds à ton message (corrigé)"
        await (
            page.locator("#messages li", has_text="(corrigé)")
            .get_by_role("button", name="Delete this message for everyone")
            .click()
        )
        await watch.next(Message, lambda m: m.deleted and m.client_id == reply.client_id)
        (bob_said,) = [m for m in await bob.history(last.conv) if m.client_id == reacted.client_id]
        await bob.content.edit(bob_said, "Salut Alice, bien reçu (modifié)")
        plaintexts.append("Salut Alice, bien reçu (modifié)")
        await (
            page.locator("#messages li", has_text="(modifié)")
            .locator(".meta", has_text="edited")
            .wait_for(timeout=WAIT_MS)
        )
        shown_now = await page.locator("#messages li .body").all_inner_texts()
        assert "Message deleted" in shown_now

        # Files, encrypted in the page and in the SDK, both ways (docs/protocol.md section 8).
        photo = tiny_png(b"pixel-secret-0451")
        plaintexts += ["pixel-secret-0451", "Une photo pour Bob", "plage.png"]
        await page.get_by_label("Message", exact=True).fill("Une photo pour Bob")
        payload: FilePayload = {"name": "plage.png", "mimeType": "image/png", "buffer": photo}
        await page.set_input_files("#f-file", files=payload)
        got_photo = await watch.next(Message, lambda m: m.attachment is not None)
        assert got_photo.text == "Une photo pour Bob" and got_photo.attachment is not None
        assert got_photo.attachment.kind == "image" and got_photo.attachment.name == "plage.png"
        assert await bob.media.download(got_photo) == photo
        await page.locator("#messages img.photo[src^='blob:']").wait_for(timeout=WAIT_MS)
        notes = b"file-secret-7788: the notes of the trip\n" * 100
        plaintexts += ["file-secret-7788", "notes-voyage.txt"]
        await bob.media.send_file(alice.account_id, notes, name="notes-voyage.txt", mime="text/plain")
        button = page.get_by_role("button", name="Download notes-voyage.txt", exact=False)
        async with page.expect_download() as download_info:
            await button.click()
        saved = await (await download_info.value).path()
        assert saved.read_bytes() == notes
        await page.screenshot(path=str(artifacts / "photo-web-rich-content-and-files.png"), full_page=True)

        # Disappearing messages: bob's timer shows in the page, and the page's reaches bob.
        await bob.set_timer(last.conv, 604800)
        await page.locator(
            "#messages li.notice", has_text="Bob turned on disappearing messages: 7 days"
        ).wait_for(timeout=WAIT_MS)
        assert await page.get_by_label("Disappearing messages").input_value() == "604800"
        await page.get_by_label("Disappearing messages").select_option("86400")
        timer = await watch.next(TimerEvent, lambda e: e.sender == alice.account_id)
        assert timer.seconds == 86400 and timer.conv == last.conv
        await page.locator(
            "#messages li.notice", has_text="You turned on disappearing messages: 24 hours"
        ).wait_for(timeout=WAIT_MS)

        # Mentions both ways, and themes: photo shows them, chat gets the readable fallback.
        await bob.content.mention(last.conv, "@Alice tu as vu la photo ?", {"@Alice": alice.account_id})
        plaintexts.append("tu as vu la photo ?")
        await page.locator("#messages strong.mention.me", has_text="@Alice").wait_for(timeout=WAIT_MS)
        named = await from_browser("@Bob oui, magnifique")
        assert [(m.account, m.offset, m.length) for m in named.mentions] == [(bob.account_id, 0, 4)]
        await page.get_by_label("Colour").fill("#123456")
        await watch.text("🎨 changed the conversation's colour to #123456")
        await bob.content.set_theme(last.conv, "#aa3300")
        await page.locator("#thread[data-theme='#aa3300']").wait_for(timeout=WAIT_MS)

        # A group, Megolm in the page and in the SDK, both directions (docs/protocol.md section 10).
        await page.get_by_text("New group").click()
        await page.get_by_label("Group name").fill("Pique-nique du dimanche")
        await page.get_by_label("Addresses of the people to add", exact=False).fill(f"chat:{BOB_PHONE}")
        await page.get_by_role("button", name="Create the group").click()
        await page.locator("#thread-title", has_text="Pique-nique du dimanche").wait_for(timeout=WAIT_MS)
        plaintexts.append("Pique-nique du dimanche")
        in_group = await from_browser("Bienvenue dans le groupe 🧺")
        assert in_group.conv.startswith("g_")
        assert (await bob.groups.info(in_group.conv)).name == "Pique-nique du dimanche"
        plaintexts.append("Merci, j'apporte le pain")
        await bob.groups.send_text(in_group.conv, "Merci, j'apporte le pain")
        await message_shown(page, "Merci, j'apporte le pain")
        await open_conversation(page, "Bob")

        # Stories (photo shows them; chat gets a line of text): contacts both ways, a story each way,
        # and viewing one tells its author.
        await page.get_by_role("button", name="Add to contacts").click()
        await page.get_by_role("button", name="✓ In your contacts").wait_for(timeout=WAIT_MS)
        await bob.privacy.add_contact(alice.account_id)
        plaintexts.append("Coucher de soleil sur la plage")
        await page.get_by_label("Story text, or a caption", exact=False).fill(
            "Coucher de soleil sur la plage"
        )
        await page.get_by_role("button", name="Post the story").click()
        story = await bob.stories.wait_for_story(author=alice.account_id)
        assert (story.text, story.kind) == ("Coucher de soleil sur la plage", "text")
        await watch.text("📖 posted a story")
        await bob.stories.view(story)
        await page.locator("#story-list button", has_text="seen by 1").wait_for(timeout=WAIT_MS)
        plaintexts.append("Mon histoire du jour")
        bobs_story = await bob.stories.post_text("Mon histoire du jour")
        await page.locator("#story-list button", has_text="Bob").click()
        await page.locator("#story-view .story-text", has_text="Mon histoire du jour").wait_for(
            timeout=WAIT_MS
        )
        (viewer,) = await bob.stories.wait_for_viewers(bobs_story.id, 1)
        assert viewer.account == alice.account_id

        # Session recovery (docs/protocol.md section 6): bob's device loses its Olm sessions; what the
        # page sends meanwhile cannot be decrypted, so bob's SDK starts a fresh session and asks with
        # p.resend, and the page encrypts the message again on it.
        await bob.close()
        with sqlite3.connect(tmp_path / "bob" / "client.db") as db:
            db.execute("DELETE FROM olm_sessions")
        lost = "Tu peux lire ceci malgré ta session perdue ?"
        plaintexts.append(lost)
        await page.get_by_label("Message", exact=True).fill(lost)
        await page.get_by_label("Message", exact=True).press("Enter")
        await page.locator("#messages li.mine:not([data-status=sending])", has_text=lost).wait_for(
            timeout=WAIT_MS
        )
        bob = await Client.open(tmp_path / "bob")
        watch = Watcher(bob)
        await bob.connect()
        recovered = await watch.text(lost)
        assert recovered.sender == alice.account_id
        await from_browser("Et la suite passe sur la nouvelle session")
        texts = [m.text for m in await bob.history(recovered.conv)]
        assert texts.count(lost) == 1
    finally:
        await bob.close()
    assert_absent(plaintexts, server.server_files())


async def test_three_people_on_three_web_apps_and_one_on_the_sdk(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    """bob on the chat web app (phone and one-time code), alice on photo (and later a second browser
    of hers), carol on social; dave on the Python SDK (chat). Everyone in a browser has their own
    browser profile (context), as on separate machines."""
    plaintexts: list[str] = []

    async def page_for(app: str) -> Page:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{server.url}/app/{app}/")
        await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
        return page

    bob = await page_for("chat")
    assert await bob.title() == "Chat"
    await bob.get_by_label("Phone number", exact=False).fill(BOB_PHONE)
    await bob.get_by_role("button", name="Send me a code").click()
    await bob.locator("#f-code:focus").wait_for(timeout=WAIT_MS)
    await register_in_browser(bob, {"Code": server.inbox.code_for(BOB_PHONE), "Your name": "Bob"})
    assert await bob.inner_text("#me") == f"chat:{BOB_PHONE}"

    alice = await page_for("photo")
    await register_in_browser(
        alice, {"Handle": "alice", "Display name (optional)": "Alice", "Password (8 characters or more)": PW}
    )
    carol = await page_for("social")
    assert await carol.title() == "Social"
    await register_in_browser(
        carol,
        {"Username": "marie.d", "Your real name": "Marie Dupont", "Password (8 characters or more)": PW},
    )

    # photo -> chat and back
    await find(alice, f"chat:{BOB_PHONE}", "Bob")
    plaintexts.append("Bob, c'est Alice sur Photo 📷")
    await write(alice, plaintexts[-1])
    # a first message from another app waits in bob's requests until he accepts it
    await open_conversation(bob, "Request: Alice")
    await message_shown(bob, plaintexts[-1])
    await bob.locator("#request", has_text="not in your contacts").wait_for(timeout=WAIT_MS)
    await bob.get_by_role("button", name="Accept").click()
    await bob.locator("#request").wait_for(state="hidden", timeout=WAIT_MS)
    plaintexts.append("Bien reçu sur Chat, Alice")
    await write(bob, plaintexts[-1])
    await message_shown(alice, plaintexts[-1])

    # social people are findable only from social by default: carol writes first, then alice answers
    await find(carol, "photo:alice", "Alice")
    plaintexts.append("Alice, Marie de Social ici")
    await write(carol, plaintexts[-1])
    await open_conversation(alice, "Request: Marie Dupont")
    await message_shown(alice, plaintexts[-1])
    assert await alice.locator("#request").is_visible()
    plaintexts.append("Enchantée Marie !")
    await write(alice, plaintexts[-1])  # answering accepts the request
    await alice.locator("#request").wait_for(state="hidden", timeout=WAIT_MS)
    await message_shown(carol, plaintexts[-1])
    # social shows no reactions: alice's reaction reaches carol as its readable fallback, and carol's
    # page offers none
    marie = alice.locator("#messages li", has_text="Alice, Marie de Social ici")
    await marie.get_by_role("button", name="React 👍").click()
    await message_shown(carol, "👍 reacted to: “Alice, Marie de Social ici”")
    assert await carol.get_by_role("button", name="React 👍").count() == 0

    # dave, on the Python SDK, and bob's web app: both directions
    dave_phone = "+33698765432"
    dave = await server.register_phone(tmp_path / "dave", dave_phone, display_name="Dave")
    watch = Watcher(dave)
    await dave.connect()
    try:
        bob_for_dave = await dave.lookup(f"chat:{BOB_PHONE}")
        plaintexts.append("Bob, ici Dave depuis le SDK Python")
        await dave.send_text(bob_for_dave.account_id, plaintexts[-1])
        await open_conversation(bob, "Dave")
        await message_shown(bob, plaintexts[-1])
        plaintexts.append("Salut Dave, réponse du navigateur")
        await write(bob, plaintexts[-1])
        assert (await watch.text(plaintexts[-1])).sender == bob_for_dave.account_id

        # a voice note, recorded and encrypted in chat's web app, reaches the SDK
        await bob.get_by_role("button", name="🎤 Record").click()
        await bob.get_by_role("button", name="⏹ Stop (0:01)").click()
        voice = await watch.next(Message, lambda m: m.attachment is not None and m.attachment.kind == "voice")
        assert voice.attachment is not None and (voice.attachment.duration_ms or 0) >= 1000
        assert voice.attachment.mime.startswith("audio/")
        assert len(await dave.media.download(voice)) == voice.attachment.size > 0
        await bob.locator("#messages audio.voice[src^='blob:']").wait_for(timeout=WAIT_MS)

        # a second browser joins alice's account; both of her devices get what bob sends, and what
        # she writes from the new one shows in the old one as hers
        alice2 = await page_for("photo")
        await alice2.get_by_role("button", name="I have an account: log in").click()
        await register_in_browser(
            alice2, {"Handle": "alice", "Password (8 characters or more)": PW}, button="Log in"
        )
        await open_conversation(bob, "Alice")
        plaintexts.append("Alice, tu as deux navigateurs maintenant ?")
        await write(bob, plaintexts[-1])
        await open_conversation(alice, "Bob")
        await message_shown(alice, plaintexts[-1])
        await open_conversation(alice2, "Bob")
        await message_shown(alice2, plaintexts[-1])
        plaintexts.append("Oui, j'écris depuis le second")
        await write(alice2, plaintexts[-1])
        await message_shown(bob, plaintexts[-1])
        await alice.locator("#messages li.mine .body", has_text=plaintexts[-1]).wait_for(timeout=WAIT_MS)

        # alice sees her two browsers among her devices and removes the second one, which says so
        await alice.get_by_text("Settings and devices").click()
        devices = alice.locator("#devices li")
        await devices.nth(1).wait_for(timeout=WAIT_MS)
        assert await devices.count() == 2
        assert "(this browser)" in await devices.first.inner_text() + await devices.nth(1).inner_text()
        await alice.locator("#devices button", has_text="Remove").click()
        await alice.locator("#devices li").nth(1).wait_for(state="detached", timeout=WAIT_MS)
        await alice2.locator("#error", has_text="removed from your account").wait_for(timeout=WAIT_MS)
        await alice2.screenshot(path=str(artifacts / "three-apps-photo-removed-browser.png"))

        # carol opens her profile to every app; then bob finds her from chat
        await carol.get_by_text("Settings and devices").click()
        async with carol.expect_response(lambda r: r.url.endswith("/v1/me/privacy")) as saved:
            await carol.get_by_label("Who can find me by my address").select_option("everyone")
        assert (await saved.value).status == 200
        plaintexts.append("Marie, je t'ai trouvée depuis Chat")
        await find(bob, "social:marie.d", "Marie Dupont")
        await write(bob, plaintexts[-1])
        await open_conversation(carol, "Bob")
        await message_shown(carol, plaintexts[-1])

        # bob blocks dave: what dave sends afterwards never reaches bob (dave cannot tell)
        await open_conversation(bob, "Dave")
        await bob.get_by_role("button", name="Block", exact=True).click()
        await bob.get_by_role("button", name="Unblock", exact=True).wait_for(timeout=WAIT_MS)
        # the blocker's own sends to the blocked person are refused: shown as not sent, with the reason
        plaintexts.append("Un dernier mot pour Dave")
        await bob.get_by_label("Message", exact=True).fill("Un dernier mot pour Dave")
        await bob.get_by_label("Message", exact=True).press("Enter")
        failed = bob.locator("#messages li.mine[data-status=failed]", has_text="Un dernier mot pour Dave")
        await failed.locator(".state", has_text="Not sent").wait_for(timeout=WAIT_MS)
        await bob.locator("#error").wait_for(state="visible", timeout=WAIT_MS)
        await dave.send_text(bob_for_dave.account_id, "Tu ne devrais pas lire ceci")
        plaintexts.append("Tu ne devrais pas lire ceci")
        await open_conversation(carol, "Bob")
        plaintexts.append("Et ceci arrive, de Marie")
        await write(carol, plaintexts[-1])
        await open_conversation(bob, "Marie Dupont")
        await message_shown(bob, plaintexts[-1])
        await open_conversation(bob, "Dave")
        assert "Tu ne devrais pas lire ceci" not in await bob.inner_text("#messages")

        # bob reports dave: only the message he ticks leaves his device, in plain text (by design,
        # docs/protocol.md section 9.5), so it is the one plaintext the server may hold afterwards
        await bob.get_by_role("button", name="Report", exact=True).click()
        reported = "Bob, ici Dave depuis le SDK Python"
        assert await bob.get_by_label(f"Dave (chat:+33698765432): {reported}").is_checked()
        assert not await bob.get_by_label("You: Salut Dave, réponse du navigateur").is_checked()
        await bob.get_by_label("What is wrong (optional)").fill("spam")
        async with bob.expect_response(lambda r: r.url.endswith("/v1/reports")) as answered:
            await bob.get_by_role("button", name="Send the report").click()
        response = await answered.value
        assert response.status == 201
        sent_report = response.request.post_data_json
        assert sent_report is not None
        assert [m["text"] for m in sent_report["messages"]] == [reported]
        assert sent_report["account_id"] == dave.account_id and sent_report["reason"] == "spam"
        await bob.locator("#report-done").wait_for(timeout=WAIT_MS)
        plaintexts.remove(reported)

        # A group across the three apps, every member in a browser
        await alice.get_by_text("New group").click()
        await alice.get_by_label("Group name").fill("Vélo du samedi")
        members = alice.get_by_label("Addresses of the people to add", exact=False)
        await members.fill(f"chat:{BOB_PHONE} social:marie.d")
        await alice.get_by_role("button", name="Create the group").click()
        await alice.locator("#members", has_text="Bob").wait_for(timeout=WAIT_MS)
        plaintexts += ["Vélo du samedi", "Rendez-vous à 9 h devant la gare 🚲", "J'y serai, avec Marie"]
        await write(alice, "Rendez-vous à 9 h devant la gare 🚲")
        for page in (bob, carol):
            await open_conversation(page, "Vélo du samedi")
            await message_shown(page, "Rendez-vous à 9 h devant la gare 🚲")
        await write(carol, "J'y serai, avec Marie")
        for page in (alice, bob):
            await message_shown(page, "J'y serai, avec Marie")
        # a reaction in the group: shown on photo, the fallback text on social
        rdv = bob.locator("#messages li", has_text="Rendez-vous à 9 h")
        await rdv.get_by_role("button", name="React 👍").click()
        await (
            alice.locator("#messages li", has_text="Rendez-vous à 9 h")
            .locator(".reactions", has_text="👍 Bob")
            .wait_for(timeout=WAIT_MS)
        )
        await message_shown(carol, "👍 reacted to: “Rendez-vous à 9 h devant la gare 🚲”")
        await bob.screenshot(path=str(artifacts / "three-apps-group-chat.png"), full_page=True)

        # alice removes carol: what alice and bob write afterwards goes on new Megolm sessions that
        # carol never gets, and her page says she is out
        await alice.get_by_role("button", name="Remove Marie Dupont (social:marie.d) from the group").click()
        await carol.locator("#members", has_text="no longer in this group").wait_for(timeout=WAIT_MS)
        plaintexts += ["Sans Marie cette fois", "Bob aussi, sans Marie"]
        await write(alice, "Sans Marie cette fois")
        await message_shown(bob, "Sans Marie cette fois")
        await write(bob, "Bob aussi, sans Marie")
        await message_shown(alice, "Bob aussi, sans Marie")
        await bob.locator("#messages li.notice", has_text="Alice removed Marie Dupont").wait_for(
            timeout=WAIT_MS
        )
        shown_to_carol = await carol.inner_text("#messages")
        assert "Sans Marie" not in shown_to_carol and "Bob aussi" not in shown_to_carol
    finally:
        await dave.close()

    for name, page in [("chat", bob), ("photo", alice), ("social", carol), ("photo-second-browser", alice2)]:
        await page.screenshot(path=str(artifacts / f"three-apps-{name}.png"), full_page=True)
    assert_absent(plaintexts, server.server_files())
