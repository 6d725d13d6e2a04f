"""Three people on three apps, through the real server and the real SDK: what they would see.

alice is on `photo` (a handle), bob on `chat` (a phone number, with a phone and a laptop), carol on
`social` (a real name and a username). After the conversation, none of the plaintexts appears in
the server's database files or logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from passerelle.sdk import Client, Message, NotFound, ReceiptEvent, TimerEvent
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33612345678"


@dataclass
class People:
    alice: Client
    bob: Client
    bob_laptop: Client
    carol: Client
    stores: Path


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[People]:
    stores = tmp_path / "clients"
    alice = await Client.register(
        server.url, stores / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    bob = await server.register_phone(
        stores / "bob-phone", BOB_PHONE, display_name="Bob", device_name="Bob's phone"
    )
    bob_laptop = await server.add_phone_device(stores / "bob-laptop", BOB_PHONE, device_name="Bob's laptop")
    carol = await Client.register(
        server.url,
        stores / "carol",
        app="social",
        username="marie.d",
        display_name="Marie Dupont",
        password=PW,
    )
    people = People(alice, bob, bob_laptop, carol, stores)
    for client in (alice, bob, bob_laptop, carol):
        await client.connect()
    yield people
    for client in (alice, bob, bob_laptop, carol):
        await client.close()


async def test_everyone_talks_to_everyone_across_apps(people: People, server: ServerHandle) -> None:
    alice, bob, laptop, carol = people.alice, people.bob, people.bob_laptop, people.carol
    watch = {c.account_id + c.device_id: Watcher(c) for c in (alice, bob, laptop, carol)}

    def sees(client: Client) -> Watcher:
        return watch[client.account_id + client.device_id]

    # Cross-app lookup: bob's phone number finds him, but is never shown to alice (another app).
    bob_for_alice = await alice.lookup(f"chat:{BOB_PHONE}")
    assert bob_for_alice.account_id == bob.account_id
    assert bob_for_alice.address is None
    assert bob_for_alice.display_name == "Bob"
    # carol's app lets only its own people find her by default...
    with pytest.raises(NotFound):
        await alice.lookup("social:marie.d")
    # ...until she opens up.
    await carol.settings(findability="everyone")
    carol_for_alice = await alice.lookup("social:marie.d")
    assert carol_for_alice.account_id == carol.account_id
    carol_for_bob = await bob.lookup("social:marie.d")
    alice_for_carol = await carol.lookup("photo:alice")
    bob_for_carol = await carol.lookup(f"chat:{BOB_PHONE}")
    assert bob_for_carol.address is None

    plaintexts: list[str] = []
    directions = [
        (alice, bob_for_alice.account_id, "Bonjour Bob ! 📷"),
        (bob, alice.account_id, "Salut Alice, ça va ? ☎️"),
        (bob, carol_for_bob.account_id, "Marie, tu viens samedi ?"),
        (carol, bob_for_carol.account_id, "Oui, avec plaisir — à samedi"),
        (alice, carol_for_alice.account_id, "Carol, j'adore ta photo de profil"),
        (carol, alice_for_carol.account_id, "Merci Alice ! 🌻"),
    ]
    for sender, to, text in directions:
        plaintexts.append(text)
        sent = await sender.send_text(to, text)
        receivers = [c for c in (alice, bob, laptop, carol) if c.account_id == to]
        for receiver in receivers:
            got = await sees(receiver).text(text)
            assert got.sender == sender.account_id and not got.outgoing and got.id == sent.id
        # The sender's other devices get their own copy, shown as outgoing.
        for other in (alice, bob, laptop, carol):
            if other.account_id == sender.account_id and other.device_id != sender.device_id:
                mine = await sees(other).text(text)
                assert mine.outgoing

    # bob writes from his laptop: the phone shows it as his own, alice sees it from bob.
    text = "Je t'écris depuis mon ordinateur 💻"
    plaintexts.append(text)
    await laptop.send_text(alice.account_id, text)
    assert (await sees(alice).text(text)).sender == bob.account_id
    assert (await sees(bob).text(text)).outgoing

    # Receipts: alice's message to bob was delivered, and is read once bob reads it.
    delivered = await sees(alice).next(
        ReceiptEvent, lambda r: r.kind == "delivered" and r.sender == bob.account_id
    )
    history = await bob.history(delivered.conv)
    incoming = [m for m in history if not m.outgoing]
    await bob.mark_read(delivered.conv, [m.id or 0 for m in incoming])
    read = await sees(alice).next(ReceiptEvent, lambda r: r.kind == "read")
    assert read.sender == bob.account_id

    # Conversations are listed on every side with the other person.
    assert {c.conv for c in await alice.conversations(refresh=True)} >= {delivered.conv}

    server_files = server.server_files()
    assert_absent(plaintexts, server_files)


async def test_an_offline_person_gets_everything_once_when_back(people: People, server: ServerHandle) -> None:
    alice, carol = people.alice, people.carol
    await carol.settings(findability="everyone")
    target = (await alice.lookup("social:marie.d")).account_id
    await carol.close()
    texts = ["Tu es là ?", "Je t'envoie ça pendant que tu dors 🌙"]
    for text in texts:
        await alice.send_text(target, text)
    back = await Client.open(people.stores / "carol")
    seen = Watcher(back)
    await back.connect()
    try:
        got = [await seen.next(Message) for _ in texts]
        assert [m.text for m in got] == texts
        await back.close()
        again = await Client.open(people.stores / "carol")
        watcher = Watcher(again)
        await again.connect()
        # Nothing twice: the history holds each message once, and nothing new arrives.
        conv = got[0].conv
        assert [m.text for m in await again.history(conv)] == texts
        with pytest.raises(TimeoutError):
            await watcher.next(Message, lambda m: m.text in texts, within=0.5)
        await again.close()
    finally:
        await back.close()
    assert_absent(texts, server.server_files())


async def test_disappearing_messages_across_apps(people: People, server: ServerHandle) -> None:
    alice, bob = people.alice, people.bob
    alice_sees, bob_sees = Watcher(alice), Watcher(bob)
    first = await alice.send_text(bob.account_id, "avant le minuteur")
    await bob.set_timer(first.conv, 86400)
    notice = await alice_sees.next(TimerEvent)
    assert notice.seconds == 86400 and notice.sender == bob.account_id
    sent = await alice.send_text(bob.account_id, "ce message disparaîtra")
    got = await bob_sees.text("ce message disparaîtra")
    assert got.expires_at is not None and got.expires_at - got.ts == pytest.approx(86_400_000, abs=5_000)
    assert sent.expires_at is not None
    assert_absent(["avant le minuteur", "ce message disparaîtra"], server.server_files())
