"""What a person sees when their mailbox holds items a stranger's bad bytes made undeliverable (rows
older than the checks at the edge): nothing of them, and every later message, with the real SDK."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.sdk import Client
from passerelle.service.records import OutgoingMessage
from tests.conftest import ServerHandle
from tests.integration.wire import register_photo
from tests.watch import Watcher

PW = "correct horse battery"
BAD_BODIES = [
    b'{"algorithm": "m.olm.v1.curve25519-aes-sha2", "ciphertext": "\xff"}',  # not UTF-8
    b'{"a": ' + b"[" * 2000 + b"]" * 2000 + b"}",  # deeper than the client's parser goes
    b'{"a": ',  # not JSON
]


async def test_undeliverable_items_do_not_stop_the_messages_after_them(
    server: ServerHandle, tmp_path: Path
) -> None:
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(server.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    await alice.connect()
    await bob.connect()
    bob_sees = Watcher(bob)
    sent = await alice.send_text(bob.account_id, "one")
    await bob_sees.text("one")
    await bob.close()

    bad = [
        OutgoingMessage(
            kind="msg",
            conv=ConversationId(sent.conv),
            sender=AccountId(alice.account_id),
            sender_device=DeviceId(alice.device_id),
            client_id=None,
            ts=Timestamp(1),
            expires_at=Timestamp(2**52),
            payloads=((DeviceId(bob.device_id), body),),
        )
        for body in BAD_BODIES
    ]
    await server.running.services.store.append(bad)
    await alice.send_text(bob.account_id, "two")

    bob = await Client.open(tmp_path / "bob")
    bob_sees = Watcher(bob)
    async with bob:
        await bob_sees.text("two")
    # Once more from the start: nothing bad comes back, and what follows still arrives.
    bob = await Client.open(tmp_path / "bob")
    bob_sees = Watcher(bob)
    async with bob:
        await alice.send_text(bob.account_id, "three")
        await bob_sees.text("three")
        assert [m.text for m in await bob.history(sent.conv)] == ["one", "two", "three"]
    await alice.close()
    left = await server.running.services.store.fetch(DeviceId(bob.device_id), after=MailboxPos(0), limit=10)
    assert all(item.body not in BAD_BODIES for item in left)


JUNK = [
    b'{"x": 1e999}',
    b'{"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": 5, "ciphertext": []}',
    b"{}",
    b'{"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": "k", '
    b'"ciphertext": {"k": {"type": 99, "body": "@@"}}}',
    b'{"a": "\\u0000\\ud83d\\ude00", "b": 123456789012345678901234567890}',
    b'{"a": ' + b"[" * 30 + b"]" * 30 + b"}",
]


async def test_whatever_a_stranger_gets_accepted_does_not_stop_the_sdk(
    server: ServerHandle, tmp_path: Path
) -> None:
    """Envelopes the server takes (JSON objects) but that are nonsense to a client: the SDK drops
    them and goes on receiving."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        mallory = await register_photo(http, "mallory")
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(server.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    await mallory.connect()
    head = json.dumps({"t": "send", "to": bob.account_id}).encode()[:-1]
    for n, junk in enumerate(JUNK):
        await mallory.send_raw(
            head + b', "id": "j%d", "payloads": {"%b": %b}}' % (n, bob.device_id.encode(), junk)
        )
        assert (await mallory.next())["t"] == "sent"
    await mallory.close()
    await alice.connect()
    bob_sees = Watcher(bob)
    async with bob:
        await alice.send_text(bob.account_id, "still here")
        await bob_sees.text("still here")
    await alice.close()


GROUP_JUNK = [
    b'{"algorithm": "m.megolm.v1.aes-sha2"}',
    b'{"algorithm": "m.megolm.v1.aes-sha2", "sender_key": "k", "session_id": 7, "ciphertext": "@@"}',
    b'{"algorithm": "m.megolm.v1.aes-sha2", "sender_key": "k", "session_id": "s", "ciphertext": "@@",'
    b' "device_id": "d"}',
    b'{"m.megolm.v1": 1e999}',
]


async def test_a_group_member_cannot_silence_the_group_with_nonsense_bodies(
    server: ServerHandle, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        mallory = await register_photo(http, "mallory")
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(server.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    await alice.connect()
    await bob.connect()
    bob_sees = Watcher(bob)
    group = await alice.groups.create("g", [bob.account_id, mallory.account])
    await alice.groups.send_text(group.conv, "before")
    await bob_sees.text("before")
    await mallory.connect()
    head = json.dumps({"t": "send", "conv": group.conv}).encode()[:-1]
    for n, junk in enumerate(GROUP_JUNK):
        await mallory.send_raw(head + b', "id": "g%d", "body": %b}' % (n, junk))
        assert (await mallory.next("sent"))["id"] == f"g{n}"
    await mallory.close()
    await alice.groups.send_text(group.conv, "after")
    await bob_sees.text("after")
    await alice.close()
    await bob.close()
