"""A stranger cannot pile messages on someone who has not accepted them (issue 9): while the
conversation waits among the recipient's requests, at most ``request_waiting_messages`` of the
stranger's messages wait on each of the recipient's devices; past it the stranger's sends are
refused with ``forbidden``, nothing is stored, and the recipient's mailbox stays bounded. Once the
recipient has received them, or accepts, the stranger may write again. Contacts are not limited."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerHandle
from tests.integration.wire import Wire, envelope, register_photo

WAITING = 5


async def _send(sender: Wire, to: Wire, tag: str) -> dict[str, object]:
    await sender.send({"t": "send", "id": tag, "to": to.account, "payloads": {to.device_id: envelope(tag)}})
    while True:
        frame = await sender.next()
        if frame["t"] in {"sent", "error"}:
            return frame


@pytest.mark.settings(limits={"request_waiting_messages": WAITING})
async def test_a_stranger_can_leave_only_so_many_messages_waiting(
    http: httpx.AsyncClient, ws_url: str, server: ServerHandle
) -> None:
    mallory = await register_photo(http, "mallory", ws_url)
    victim = await register_photo(http, "victim", ws_url)
    friend = await register_photo(http, "friend", ws_url)
    await mallory.connect()
    for n in range(WAITING):
        assert (await _send(mallory, victim, f"m{n}"))["t"] == "sent"
    refused = await _send(mallory, victim, "one-too-many")
    assert refused["t"] == "error" and refused["code"] == "forbidden", refused
    assert refused.get("ref") == "one-too-many"
    # A repeated send (a retry after a lost answer) still gets its first result.
    assert (await _send(mallory, victim, "m0"))["t"] == "sent"
    # Someone else still reaches the victim.
    await friend.connect()
    assert (await _send(friend, victim, "hello from a friend"))["t"] == "sent"
    # The victim comes online: exactly the waiting messages and the friend's, nothing refused.
    await victim.connect()
    items = await victim.items(WAITING + 1)
    bodies = sorted(i["body"]["ciphertext"]["x"]["body"] for i in items)
    assert bodies == sorted([*(f"m{n}" for n in range(WAITING)), "hello from a friend"])
    await victim.send({"t": "ack", "upto": max(i["pos"] for i in items)})
    await victim.send({"t": "ping"})
    await victim.next("pong")
    # Received and acknowledged: the stranger may write again (still a request, still bounded).
    assert (await _send(mallory, victim, "after-ack"))["t"] == "sent"
    [item] = await victim.items(1)
    assert item["body"]["ciphertext"]["x"]["body"] == "after-ack"
    for wire in (mallory, victim, friend):
        await wire.close()


@pytest.mark.settings(limits={"request_waiting_messages": WAITING})
async def test_once_accepted_there_is_no_request_bound(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    await alice.connect()
    await bob.connect()
    assert (await _send(alice, bob, "hi"))["t"] == "sent"
    assert (await _send(bob, alice, "hi back"))["t"] == "sent"  # replying accepts the request
    await bob.close()
    for n in range(WAITING * 3):
        assert (await _send(alice, bob, f"m{n}"))["t"] == "sent", n
    await alice.close()
