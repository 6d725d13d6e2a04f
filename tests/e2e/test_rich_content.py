"""Rich content (replies, reactions, edits, deletes, mentions, themes) between people of three apps,
through the real server and the real SDK, in direct conversations and in a group: what each person
would see, fallbacks on the app that lacks a feature, and never a plaintext on the server.

alice is on `photo` (every rich feature), bob on `chat` (a phone and a laptop; no themes), carol on
`social` (no reactions, no edits).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from passerelle.sdk import Client, ClientOptions, Forbidden, Message
from passerelle.sdk.events import DELETED_TEXT, ThemeEvent
from passerelle.sdk.schema import ReplyRef, TextContent
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33698765432"


@dataclass
class People:
    alice: Client
    bob: Client
    laptop: Client
    carol: Client

    def all(self) -> tuple[Client, ...]:
        return (self.alice, self.bob, self.laptop, self.carol)


class Clock:
    """Wall time, moved forward by tests to expire messages."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path, clock: Clock) -> AsyncIterator[People]:
    stores = tmp_path / "clients"
    opts = ClientOptions(now_ms=clock)
    alice = await Client.register(
        server.url, stores / "alice", app="photo", handle="alice", password=PW, options=opts
    )
    bob = await server.register_phone(stores / "bob", BOB_PHONE, display_name="Bob", options=opts)
    laptop = await server.add_phone_device(stores / "bob-laptop", BOB_PHONE, options=opts)
    carol = await Client.register(
        server.url, stores / "carol", app="social", username="marie.d", display_name="Marie", password=PW
    )
    found = People(alice, bob, laptop, carol)
    for client in found.all():
        await client.connect()
    await carol.settings(findability="everyone")
    yield found
    for client in found.all():
        await client.close()


def about(client_id: str, check: Callable[[Message], bool] = lambda m: True) -> Callable[[Message], bool]:
    return lambda m: m.client_id == client_id and check(m)


def reacted(expected: tuple[tuple[str, str], ...]) -> Callable[[Message], bool]:
    return lambda m: m.reactions == expected


async def test_lookup_and_profile_tell_the_apps_features(people: People) -> None:
    found = await people.carol._rest.lookup("photo:alice")
    assert found.features is not None and {"reaction", "edit", "themes"} <= set(found.features)
    assert await people.alice.content.features.of(people.carol.account_id) == frozenset(
        {
            "text",
            "receipts",
            "typing",
            "disappearing",
            "reply",
            "delete",
            "mention",
            "media",
            "themes",
            "interactive",
        }
    )
    chat = await people.alice.content.features.of(people.bob.account_id)
    assert chat is not None and "themes" not in chat and "reaction" in chat


async def test_direct_replies_reactions_edits_deletes_mentions_and_fallbacks(
    people: People, server: ServerHandle
) -> None:
    alice, bob, laptop, carol = people.alice, people.bob, people.laptop, people.carol
    sees = {c.device_id: Watcher(c) for c in people.all()}
    first = "Pique-nique samedi au parc 🧺"
    sent = await alice.send_text(bob.account_id, first)
    got = await sees[bob.device_id].text(first)
    await sees[laptop.device_id].text(first)

    # A reply quotes its target, on every device of both people.
    answer = "J'apporte les fraises 🍓"
    await bob.content.reply(got.conv, got, answer)
    reply = await sees[alice.device_id].text(answer)
    assert reply.reply_to == ReplyRef(id=sent.client_id, sender=alice.account_id, quote=first)
    mine = await sees[laptop.device_id].text(answer)
    assert mine.outgoing and mine.reply_to is not None and mine.reply_to.id == sent.client_id

    # Reactions: any emoji, one per person (a second replaces it), an empty one removes it.
    for emoji in ("🦩", "🫶🏽"):
        shown = await bob.content.react(got, emoji)
        assert shown is not None and shown.reactions == ((bob.account_id, emoji),)
        expected = ((bob.account_id, emoji),)
        for client in (alice, laptop):
            await sees[client.device_id].next(Message, about(sent.client_id, reacted(expected)))
    await bob.content.unreact(got)
    await sees[alice.device_id].next(Message, about(sent.client_id, lambda m: m.reactions == ()))

    # Edits: only the sender; history shows the new text, marked edited.
    edited = "Pique-nique dimanche au parc, finalement ☀️"
    own = (await alice.history(sent.conv))[0]
    await alice.content.edit(own, edited)
    for client in (bob, laptop):
        got_edit = await sees[client.device_id].next(Message, about(sent.client_id, lambda m: m.edited))
        assert got_edit.text == edited and not got_edit.outgoing
    assert next((m.text, m.edited) for m in await bob.history(sent.conv)) == (edited, True)

    # Someone else's edit or delete is refused by the SDK, and ignored when forged.
    with pytest.raises(Forbidden):
        await bob.content.edit(got, "piraté")
    forged = "Pique-nique annulé 😈"
    await bob.content.send_change(
        got.conv, TextContent(id="forged-1", ts=0, body=forged, msgtype="edit", replaces=sent.client_id)
    )
    await bob.content.send_change(
        got.conv, TextContent(id="forged-2", ts=0, body="", msgtype="delete", replaces=sent.client_id)
    )
    marker = "(après la tentative)"
    await bob.send_text(alice.account_id, marker)
    await sees[alice.device_id].text(marker)
    [kept] = [m for m in await alice.history(sent.conv) if m.client_id == sent.client_id]
    assert kept.text == edited and not kept.deleted

    # Mentions name people by account id, with offsets into the text.
    said = "@Bob tu prends la nappe à carreaux ?"
    await alice.content.mention(sent.conv, said, {"@Bob": bob.account_id})
    mention = await sees[bob.device_id].text(said)
    assert [(m.account, m.offset, m.length) for m in mention.mentions] == [(bob.account_id, 0, 4)]

    # Delete for everyone: a tombstone stays, the text is gone from every device.
    await alice.content.delete(kept)
    for client in (bob, laptop):
        gone = await sees[client.device_id].next(Message, about(sent.client_id, lambda m: m.deleted))
        assert gone.text == DELETED_TEXT
    assert next(m.text for m in await laptop.history(sent.conv)) == DELETED_TEXT
    assert next(m.text for m in await alice.history(sent.conv)) == DELETED_TEXT

    # carol's app (social) shows no reactions and no edits: she gets readable fallbacks instead.
    hello = "Tu viens au vernissage jeudi ?"
    to_carol = await alice.send_text(carol.account_id, hello)
    carol_got = await sees[carol.device_id].text(hello)
    await alice.content.react(carol_got, "🪩")
    fallback = await sees[carol.device_id].next(Message, lambda m: "reacted to" in m.text)
    assert fallback.text == f"🪩 reacted to: “{hello}”" and fallback.reactions == ()
    own_hello = (await alice.history(to_carol.conv))[0]
    retold = "Tu viens au vernissage vendredi ?"
    await alice.content.edit(own_hello, retold)
    edit_fallback = await sees[carol.device_id].next(Message, lambda m: m.text.startswith("✏️"))
    assert edit_fallback.text == f"✏️ edited: {retold}"
    # alice's app shows both for real.
    [alice_view] = [m for m in await alice.history(to_carol.conv) if m.client_id == to_carol.client_id]
    assert alice_view.edited and alice_view.reactions == ((alice.account_id, "🪩"),)

    plaintexts = [first, answer, "🦩", "🫶🏽", edited, forged, said, hello, "🪩", retold, "nappe à carreaux"]
    assert_absent(plaintexts, server.server_files())


async def test_a_cross_app_group_with_rich_content_and_a_theme(people: People, server: ServerHandle) -> None:
    alice, bob, laptop, carol = people.alice, people.bob, people.laptop, people.carol
    sees = {c.device_id: Watcher(c) for c in people.all()}
    themes: dict[str, asyncio.Queue[ThemeEvent]] = {}
    for client in people.all():
        themes[client.device_id] = asyncio.Queue()
        client._dispatch.subscribe(ThemeEvent, themes[client.device_id].put_nowait)
    group = await alice.groups.create("Atelier poterie", [bob.account_id, carol.account_id])

    first = "Cuisson des bols mardi 🏺"
    sent = await alice.groups.send_text(group.conv, first)
    got = {c.device_id: await sees[c.device_id].text(first) for c in (bob, laptop, carol)}

    # carol (social) replies; everyone sees the reply with its quote.
    answer = "Je réserve le four 🔥"
    await carol.content.reply(group.conv, got[carol.device_id], answer)
    for client in (alice, bob, laptop):
        reply = await sees[client.device_id].text(answer)
        assert reply.reply_to is not None and reply.reply_to.id == sent.client_id

    # bob reacts: photo and chat show it; social shows the fallback.
    await bob.content.react(got[bob.device_id], "🦦")
    for client in (alice, laptop):
        await sees[client.device_id].next(
            Message, about(sent.client_id, lambda m: m.reactions == ((bob.account_id, "🦦"),))
        )
    shown = await sees[carol.device_id].next(Message, lambda m: "reacted to" in m.text)
    assert shown.text == f"🦦 reacted to: “{first}”"

    # alice edits: bob's devices show the new text, carol the fallback.
    edited = "Cuisson des bols mercredi 🏺"
    own = next(m for m in await alice.history(group.conv) if m.client_id == sent.client_id)
    await alice.content.edit(own, edited)
    for client in (bob, laptop):
        changed = await sees[client.device_id].next(Message, about(sent.client_id, lambda m: m.edited))
        assert changed.text == edited
    assert (await sees[carol.device_id].next(Message, lambda m: m.text.startswith("✏️"))).text == (
        f"✏️ edited: {edited}"
    )

    # carol cannot delete alice's message, even by forging the change.
    await carol.content.send_change(
        group.conv, TextContent(id="forged-g", ts=0, body="", msgtype="delete", replaces=sent.client_id)
    )
    mention = "@Bob tu ramènes de l'émail turquoise ?"
    await carol.content.mention(group.conv, mention, {"@Bob": bob.account_id})
    for client in (alice, bob):
        named = await sees[client.device_id].text(mention)
        assert named.mentions[0].account == bob.account_id
    for client in (alice, bob):
        [kept] = [m for m in await client.history(group.conv) if m.client_id == sent.client_id]
        assert not kept.deleted and kept.text == edited

    # A theme set by carol reaches every member device; chat (no themes) shows a fallback message.
    colour = "#7b2ff7"
    await carol.content.set_theme(group.conv, colour, quick_reaction="🐙")
    for client in (alice,):
        async with asyncio.timeout(10):
            event = await themes[client.device_id].get()
        assert event.theme.colour == colour and event.sender == carol.account_id
    for client in (bob, laptop):
        note = await sees[client.device_id].next(Message, lambda m: m.text.startswith("🎨"))
        assert colour in note.text and "🐙" in note.text
    for client in people.all():
        look = await client.content.conversation(group.conv)
        assert look.theme is not None and look.theme.colour == colour and look.theme.quick_reaction == "🐙"

    # alice deletes for everyone: every app supports deletes.
    await alice.content.delete(own)
    for client in (bob, laptop, carol):
        gone = await sees[client.device_id].next(Message, about(sent.client_id, lambda m: m.deleted))
        assert gone.text == DELETED_TEXT

    plaintexts = [first, answer, "🦦", edited, mention, colour, "🐙", "émail turquoise"]
    assert_absent(plaintexts, server.server_files())


async def test_rich_content_expires_with_its_message(people: People, clock: Clock) -> None:
    alice, bob = people.alice, people.bob
    sees = Watcher(bob)
    short = "Code de la porte : 4711 🔑"
    sent = await alice.send_text(bob.account_id, short, ttl=30)
    got = await sees.text(short)
    answer = "Merci, noté 👍"
    reply_sent = await bob.content.reply(got.conv, got, answer, ttl=30)
    assert reply_sent.expires_at is not None
    await bob.content.react(got, "🗝️")
    own = (await alice.history(sent.conv))[0]
    await alice.content.edit(own, "Code de la porte : 4712 🔑")
    await sees.next(Message, about(sent.client_id, lambda m: m.edited))
    assert any(m.reactions for m in await bob.history(sent.conv))

    clock.offset_ms = 31_000
    assert await bob.history(sent.conv) == []
    assert await bob.purge_expired() >= 2

    def notes(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM annotations").fetchone()[0])

    assert await bob._store.db.run(notes) == 0
