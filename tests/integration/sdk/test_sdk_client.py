"""The SDK's Client against the real server (uvicorn on loopback, SQLite): what people would see."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import pytest_asyncio

from passerelle.sdk import (
    AliasTaken,
    Client,
    ClientOptions,
    DeviceEvent,
    Event,
    Message,
    MessageState,
    ReceiptEvent,
    StoreError,
    TimerEvent,
    TypingEvent,
    Unauthorized,
)
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

PW = "correct horse battery"
T = TypeVar("T", bound=Event)


async def drain(stream: AsyncIterator[Message]) -> None:
    async with asyncio.timeout(10):
        async for _ in stream:
            pass


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


class Clock:
    def __init__(self) -> None:
        import time

        self.offset_ms = 0
        self._time = time

    def now_ms(self) -> int:
        return int(self._time.time() * 1000) + self.offset_ms


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(server.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    await alice.connect()
    await bob.connect()
    yield alice, bob
    await alice.close()
    await bob.close()


async def test_a_text_goes_both_ways_with_receipts(people: tuple[Client, Client]) -> None:
    alice, bob = people
    alice_sees, bob_sees = Watcher(alice), Watcher(bob)
    contact = await alice.lookup("photo:bob")
    assert contact.account_id == bob.account_id
    sent = await alice.send_text(contact.account_id, "hello bob ✓")

    got = await bob_sees.text("hello bob ✓")
    assert (got.id, got.client_id, got.sender, got.outgoing) == (
        sent.id,
        sent.client_id,
        alice.account_id,
        False,
    )
    delivered = await alice_sees.next(ReceiptEvent, lambda r: r.kind == "delivered")
    assert delivered.ids == (sent.id,)

    # alice is not bob's contact: her first message is a request, and bob's read receipts only
    # reach her once he accepts it.
    await bob.privacy.accept(alice.account_id)
    await bob.mark_read(got.conv, [got.id or 0])
    read = await alice_sees.next(ReceiptEvent, lambda r: r.kind == "read")
    assert read.ids == (sent.id,)
    [mine] = await alice.history(sent.conv)
    assert mine.state is MessageState.READ
    assert mine.outgoing

    await bob.send_text(alice.account_id, "hi alice 🐍")
    assert (await alice_sees.text("hi alice 🐍")).sender == bob.account_id
    assert [m.text for m in await bob.history(sent.conv)] == ["hello bob ✓", "hi alice 🐍"]
    assert await alice.safety_number(bob.account_id) == await bob.safety_number(alice.account_id)
    assert await bob.verify_safety_qr(alice.account_id, await alice.safety_qr(bob.account_id))


class Recorded(httpx.AsyncBaseTransport):
    """HTTP to the server, as any client's, remembering each request's method and path."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_first_message_claims_the_keys_and_the_device_list_in_one_call(
    server: ServerHandle, tmp_path: Path
) -> None:
    """A first message to someone: one key claim brings their devices and a key for each (no
    separate device listing); the next message to them asks the server for nothing."""
    wire = Recorded()
    options = ClientOptions(rest_transport=wire)
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, options=options
    )
    bob = await Client.register(server.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    try:
        await alice.connect()
        await bob.connect()
        bob_sees = Watcher(bob)
        wire.seen.clear()
        await alice.send_text(bob.account_id, "first")
        assert "POST /v1/keys/claim" in wire.seen
        assert f"GET /v1/accounts/{bob.account_id}/devices" not in wire.seen
        assert (await bob_sees.text("first")).sender == alice.account_id
        wire.seen.clear()
        await alice.send_text(bob.account_id, "second")
        assert wire.seen == []
        assert (await bob_sees.text("second")).sender == alice.account_id
    finally:
        await alice.close()
        await bob.close()


async def test_my_other_devices_get_copies_and_stale_lists_are_refreshed(
    server: ServerHandle, tmp_path: Path, people: tuple[Client, Client]
) -> None:
    alice, bob = people
    await alice.send_text(bob.account_id, "before the tablet")  # bob and alice cache device lists
    tablet = await Client.add_device(
        server.url, tmp_path / "tablet", app="photo", handle="alice", password=PW, device_name="tablet"
    )
    async with tablet:
        alice_sees, tablet_sees, bob_sees = Watcher(alice), Watcher(tablet), Watcher(bob)
        await alice.send_text(bob.account_id, "from the phone")
        await bob_sees.text("from the phone")
        copy = await tablet_sees.text("from the phone")
        assert copy.outgoing
        assert copy.sender_device == alice.device_id
        await bob.send_text(alice.account_id, "to both")  # bob's list of alice's devices is stale
        await alice_sees.text("to both")
        await tablet_sees.text("to both")
        assert {d.device_id for d in await alice.devices()} == {alice.device_id, tablet.device_id}


async def test_messages_wait_for_an_offline_device_and_survive_a_restart(
    tmp_path: Path, people: tuple[Client, Client]
) -> None:
    alice, bob = people
    bob_sees = Watcher(bob)
    await alice.send_text(bob.account_id, "first")
    await bob_sees.text("first")
    await bob.close()
    sent = await alice.send_text(bob.account_id, "while you were away")

    bob = await Client.open(tmp_path / "bob")
    bob_sees = Watcher(bob)
    async with bob:
        await bob_sees.text("while you were away")
        history = await bob.history(sent.conv)
        assert [m.text for m in history][-1] == "while you were away"
    # A second restart does not deliver it twice (acked, and deduped by id).
    bob = await Client.open(tmp_path / "bob")
    async with bob:
        bob_sees = Watcher(bob)  # before the send: the message may arrive before send_text returns
        await alice.send_text(bob.account_id, "marker")
        await bob_sees.text("marker")
        texts = [m.text for m in await bob.history(sent.conv)]
        assert texts.count("while you were away") == 1


async def test_a_backlog_from_several_people_arrives_whole_in_order_and_once(
    server: ServerHandle, tmp_path: Path, people: tuple[Client, Client]
) -> None:
    """What waited while Bob was offline comes in one mailbox batch, committed together (the
    inbox's rule 1): Alice's messages and those of Carol, whom Bob never talked to (her
    conversation is made by the batch), each shown once, in order, each sender told they were
    delivered; a restart shows none of them again."""
    alice, bob = people
    carol = await Client.register(server.url, tmp_path / "carol", app="photo", handle="carol", password=PW)
    await carol.connect()
    bob_sees = Watcher(bob)
    await alice.send_text(bob.account_id, "before")
    await bob_sees.text("before")
    await bob.close()
    alice_sees, carol_sees = Watcher(alice), Watcher(carol)
    from_alice = [await alice.send_text(bob.account_id, f"alice {n}") for n in range(12)]
    from_carol = [await carol.send_text(bob.account_id, f"carol {n}") for n in range(12)]

    bob = await Client.open(tmp_path / "bob")
    bob_sees = Watcher(bob)
    async with bob:
        shown = [(await bob_sees.next(Message, lambda m: m.text != "before")).text for _ in range(24)]
        assert [t for t in shown if t.startswith("alice")] == [f"alice {n}" for n in range(12)]
        assert [t for t in shown if t.startswith("carol")] == [f"carol {n}" for n in range(12)]
        for sees, sent in ((alice_sees, from_alice), (carol_sees, from_carol)):
            told: set[str] = set()
            while len(told) < len(sent):
                receipt = await sees.next(ReceiptEvent, lambda r: r.kind == "delivered")
                told.update(str(i) for i in receipt.ids)
            assert {str(m.id) for m in sent} <= told
        carol_conv = from_carol[0].conv
        assert [m.text for m in await bob.history(carol_conv)] == [f"carol {n}" for n in range(12)]
    bob = await Client.open(tmp_path / "bob")
    async with bob:
        bob_sees = Watcher(bob)
        await alice.send_text(bob.account_id, "marker")
        await bob_sees.text("marker")
        assert not [e for e in bob_sees.backlog if isinstance(e, Message)]
        assert [m.text for m in await bob.history(carol_conv)] == [f"carol {n}" for n in range(12)]
    await carol.close()


async def test_a_device_that_lost_its_sessions_recovers_the_message(
    tmp_path: Path, people: tuple[Client, Client]
) -> None:
    alice, bob = people
    alice_sees = Watcher(alice)
    await alice.send_text(bob.account_id, "session set up")
    await bob.send_text(alice.account_id, "reply")
    await alice_sees.text("reply")  # alice decrypted a reply: she now sends normal (type 1) messages
    await bob.close()
    with sqlite3.connect(tmp_path / "bob" / "client.db") as db:  # bob loses his Olm sessions
        db.execute("DELETE FROM olm_sessions")
    lost = await alice.send_text(bob.account_id, "can you read this?")

    bob = await Client.open(tmp_path / "bob")
    bob_sees = Watcher(bob)
    async with bob:
        got = await bob_sees.text("can you read this?")  # re-sent by alice on a fresh session
        assert not got.outgoing
        await alice.send_text(bob.account_id, "and this")
        await bob_sees.text("and this")
        texts = [m.text for m in await bob.history(got.conv)]
        assert texts.count("can you read this?") == 1
    with sqlite3.connect(tmp_path / "alice" / "client.db") as db:
        [(resends,)] = db.execute("SELECT resends FROM messages WHERE client_id = ?", (lost.client_id,))
    assert resends == 1  # bob got it through the recovery: a resend on a fresh session


async def test_typing_timer_and_disappearing_messages(server: ServerHandle, tmp_path: Path) -> None:
    clock = Clock()
    options = ClientOptions(now_ms=clock.now_ms)
    alice = await Client.register(
        server.url, tmp_path / "a", app="photo", handle="alice", password=PW, options=options
    )
    bob = await Client.register(
        server.url, tmp_path / "b", app="photo", handle="bob", password=PW, options=options
    )
    async with alice, bob:
        bob_sees = Watcher(bob)
        sent = await alice.send_text(bob.account_id, "kept")
        await bob_sees.text("kept")
        await alice.set_typing(sent.conv, True)
        assert (await bob_sees.next(TypingEvent)).typing

        await alice.set_timer(sent.conv, 86_400)
        timer = await bob_sees.next(TimerEvent)
        assert (timer.seconds, timer.sender) == (86_400, alice.account_id)
        short = await alice.send_text(bob.account_id, "gone tomorrow")
        assert short.expires_at == short.ts + 86_400_000
        got = await bob_sees.text("gone tomorrow")
        assert got.expires_at is not None
        quick = await alice.send_text(bob.account_id, "gone in a minute", ttl=60)
        assert quick.expires_at == quick.ts + 60_000

        clock.offset_ms = 120_000
        assert "gone in a minute" not in [m.text for m in await alice.history(sent.conv)]
        clock.offset_ms = 86_400_000 + 60_000
        assert await bob.purge_expired() >= 1
        assert [m.text for m in await bob.history(sent.conv)] == ["kept"]
        assert [m.text for m in await alice.history(sent.conv)] == ["kept"]


async def test_read_receipts_off_sends_none(people: tuple[Client, Client]) -> None:
    alice, bob = people
    alice_sees, bob_sees = Watcher(alice), Watcher(bob)
    assert (await bob.settings(read_receipts=False)).read_receipts is False
    await alice.send_text(bob.account_id, "read me")
    got = await bob_sees.text("read me")
    await bob.mark_read(got.conv, [got.id or 0])
    await bob.send_text(alice.account_id, "after reading")
    # Everything from bob arrives in order: had a read receipt been sent, it would come first.
    while True:
        event = await alice_sees.any()
        assert not (isinstance(event, ReceiptEvent) and event.kind == "read")
        if isinstance(event, Message) and event.text == "after reading":
            break
    [first, _] = await bob.history(got.conv)
    assert first.state is MessageState.READ  # still read locally


async def test_removed_device_is_cut_off(
    server: ServerHandle, tmp_path: Path, people: tuple[Client, Client]
) -> None:
    alice, bob = people
    tablet = await Client.add_device(
        server.url, tmp_path / "tablet", app="photo", handle="alice", password=PW
    )
    await tablet.connect()
    alice_sees = Watcher(alice)
    stream = tablet.messages()
    await alice.remove_device(tablet.device_id)
    with pytest.raises(Unauthorized):
        await drain(stream)
    removed = await alice_sees.next(DeviceEvent)
    assert (removed.event, removed.device_id) == ("removed", tablet.device_id)
    await tablet.close()
    bob_sees = Watcher(bob)
    await alice.send_text(bob.account_id, "only two devices now")
    await bob_sees.text("only two devices now")
    assert [d.device_id for d in await alice.devices()] == [alice.device_id]


async def test_plaintext_is_nowhere_on_disk(
    server: ServerHandle, tmp_path: Path, people: tuple[Client, Client]
) -> None:
    alice, bob = people
    bob_sees = Watcher(bob)
    secrets = ["the treasure is under the old oak", "rendez-vous à l'aube 🌅"]
    for text in secrets:
        await alice.send_text(bob.account_id, text)
        await bob_sees.text(text)
    files = server.database_files() + await asyncio.to_thread(files_under, tmp_path)
    assert_absent(secrets, files)


async def test_store_errors_and_registration_errors(server: ServerHandle, tmp_path: Path) -> None:
    client = await Client.register(
        server.url, tmp_path / "p", app="photo", handle="carol", password=PW, passphrase="open sesame"
    )
    await client.close()
    with pytest.raises(StoreError):
        await Client.open(tmp_path / "p", passphrase="wrong")
    reopened = await Client.open(tmp_path / "p", passphrase="open sesame")
    assert reopened.account_id == client.account_id
    await reopened.close()
    with pytest.raises(AliasTaken):
        await Client.register(server.url, tmp_path / "q", app="photo", handle="carol", password=PW)
    # The refused registration left nothing behind: the directory can be used again.
    again = await Client.register(server.url, tmp_path / "q", app="photo", handle="carol2", password=PW)
    await again.close()


async def test_phone_app_registration_with_a_code(server: ServerHandle, tmp_path: Path) -> None:
    phone = "+33612345678"
    client = await server.register_phone(tmp_path / "c", phone, display_name="Dan")
    assert client.address == f"chat:{phone}"
    async with client:
        assert [d.current for d in await client.devices()] == [True]
