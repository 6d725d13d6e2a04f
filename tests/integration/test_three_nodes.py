"""Three nodes (tests/integration/cluster.py: real servers on one PostgreSQL schema and one Redis;
B's clients on the picows gateway, A's and C's on uvicorn's): a client that spreads what it does
over the three gets the same limits as on one node, and what one person does live (typing,
receipts, device changes, being online) reaches the other on whichever node each is.

Each test here would fail with limits or connections counted per process.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from passerelle.domain.limits import Limits
from passerelle.sdk import Client, DeviceEvent, Message, ReceiptEvent, TypingEvent
from passerelle.server.ws.hub import REPLACED
from tests.integration.cluster import Node, cluster
from tests.integration.test_multinode import closed_by_server, gather, send, tags
from tests.integration.wire import Wire, add_photo_device, register_photo
from tests.unit.service.fakes import TestDevice

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]
THREE = ("A", "B", "C")
PW = "correct horse battery"
WITHIN = 10.0
T = TypeVar("T")
PHONE = "+33612345678"


async def test_a_device_holds_one_connection_across_the_nodes(tmp_path: Path) -> None:
    async with cluster(tmp_path, THREE) as c:
        a, b, node_c = c.nodes
        alice = await register_photo(a.http, "alice")
        bob = c.on(a, await register_photo(a.http, "bob"))
        await bob.connect()
        first = c.on(a, alice)
        await first.connect()
        # The same device (same token) says hello on B: its connection on A is closed as replaced,
        # as it would be on one node (per node, both would stay open and both be delivered to).
        again = c.on(b, same_device(alice))
        await again.connect()
        assert await closed_by_server(first) == REPLACED
        third = c.on(node_c, same_device(alice))
        await third.connect()
        assert await closed_by_server(again) == REPLACED
        # The one live connection gets the device's messages, once.
        await bob.send(send("m1", third, "hello"))
        _, items = await gather(third, items=1)
        assert tags(items) == ["hello"]


async def test_an_accounts_connections_count_against_one_cap_across_the_nodes(tmp_path: Path) -> None:
    async with cluster(tmp_path, THREE, limits=Limits(max_connections_per_account=2)) as c:
        a, b, node_c = c.nodes
        phone = c.on(a, await register_photo(a.http, "alice"))
        laptop = c.on(b, await add_photo_device(b.http, "alice", "laptop"))
        tablet = c.on(node_c, await add_photo_device(node_c.http, "alice", "tablet"))
        await phone.connect()  # on A
        await laptop.connect()  # on B
        # A third device on C: the account holds its two connections (per node, C would hold none).
        refused = await tablet.connect(expect_welcome=False)
        assert (refused["t"], refused["code"]) == ("error", "rate_limited")
        assert await closed_by_server(tablet) == 4008
        # The phone connecting again on C takes its own place: replaced on A, not refused.
        again = c.on(node_c, same_device(phone))
        await again.connect()
        assert await closed_by_server(phone) == REPLACED
        refused = await c.on(a, same_device(tablet)).connect(expect_welcome=False)
        assert refused["code"] == "rate_limited"
        # The laptop closes: its place is free at once (long before a slot would expire, 30 s).
        await laptop.close()
        async with asyncio.timeout(WITHIN):
            while True:
                answer = await c.on(a, same_device(tablet)).connect(expect_welcome=False)
                if answer["t"] == "welcome":
                    break
                assert answer["code"] == "rate_limited"
                await asyncio.sleep(0.2)


def same_device(wire: Wire) -> Wire:
    """Another client for the same device (same token): a second socket of one device."""
    return replace(wire, ws=None, frames=asyncio.Queue(), reader=None)


async def test_codes_and_their_attempts_count_once_over_three_nodes(tmp_path: Path) -> None:
    limits = Limits(codes_per_phone=3, code_attempts=4)
    async with cluster(tmp_path, THREE, limits=limits) as c:
        a, b, node_c = c.nodes
        asked = [
            (await node.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})).status_code
            for node in (a, b, node_c, a)
        ]
        assert asked == [202, 202, 202, 429]  # three codes per phone in all, not three per node
        right = node_c.inbox.code_for(PHONE)  # the last code sent replaced the others
        wrong = "000000" if right != "000000" else "111111"

        async def register(node: Node, code: str) -> int:
            device = TestDevice().keys_json()
            body = {"app": "chat", "phone": PHONE, "code": code, "display_name": "Bob", "device": device}
            return (await node.http.post("/v1/accounts", json=body)).status_code

        # Four attempts on the pending code, whichever nodes they go to: then even the right one fails.
        assert [await register(node, wrong) for node in (a, b, node_c, b)] == [401, 401, 401, 401]
        assert await register(a, right) == 401


async def test_wrong_passwords_spread_over_three_nodes_share_one_budget(tmp_path: Path) -> None:
    async with cluster(tmp_path, THREE, limits=Limits(logins_per_window=4)) as c:
        a, b, node_c = c.nodes
        await register_photo(a.http, "alice")  # the address's first login of four
        statuses = []
        for node in (b, node_c, a, b, node_c):
            body = {
                "app": "photo",
                "handle": "alice",
                "password": "wrong",
                "device": TestDevice().keys_json(),
            }
            statuses.append((await node.http.post("/v1/devices", json=body)).status_code)
        assert statuses == [401, 401, 401, 429, 429]


async def test_typing_receipts_device_changes_and_last_seen_reach_people_on_other_nodes(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path, THREE) as c:
        a, b, node_c = c.nodes
        alice = await Client.register(a.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
        bob = await Client.register(b.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
        events: dict[str, asyncio.Queue[object]] = {name: asyncio.Queue() for name in ("alice", "bob")}
        for name, client in (("alice", alice), ("bob", bob)):
            queue = events[name]
            client.on_message(queue.put_nowait)
            client.on_receipt(queue.put_nowait)
            client.on_typing(queue.put_nowait)
            client.on_device(queue.put_nowait)

        async def next_of(name: str, kind: type[T]) -> T:
            async with asyncio.timeout(WITHIN):
                while True:
                    event = await events[name].get()
                    if isinstance(event, kind):
                        return event

        laptop: Client | None = None
        try:
            await alice.connect()  # on node A
            await bob.connect()  # on node B
            sent = await alice.send_text(bob.account_id, "hello from A")
            got = await next_of("bob", Message)
            assert (got.text, got.id) == ("hello from A", sent.id)

            # Receipts: bob reads on B, alice learns it on A.
            await bob.privacy.accept(alice.account_id)
            delivered = await next_of("alice", ReceiptEvent)  # sent by bob's SDK on its own
            assert (delivered.kind, delivered.ids, delivered.sender) == (
                "delivered",
                (sent.id,),
                bob.account_id,
            )
            assert got.id is not None
            await bob.mark_read(got.conv, [got.id])
            read = await next_of("alice", ReceiptEvent)
            assert (read.kind, read.ids, read.sender) == ("read", (sent.id,), bob.account_id)

            # Typing: live only, through Redis.
            await bob.set_typing(got.conv)
            typing = await next_of("alice", TypingEvent)
            assert (typing.sender, typing.typing) == (bob.account_id, True)

            # Device list: bob adds a laptop through node C; his phone (on B) is told, and alice's next
            # message (through A) reaches the laptop too.
            laptop = await Client.add_device(
                node_c.url,
                tmp_path / "bob-laptop",
                app="photo",
                handle="bob",
                password=PW,
                device_name="laptop",
            )
            added = await next_of("bob", DeviceEvent)
            assert (added.event, added.device_id) == ("added", laptop.device_id)
            on_laptop: asyncio.Queue[Message] = asyncio.Queue()
            laptop.on_message(on_laptop.put_nowait)
            await laptop.connect()  # on node C
            await alice.send_text(bob.account_id, "to both")
            assert (await next_of("bob", Message)).text == "to both"
            async with asyncio.timeout(WITHIN):
                while (await on_laptop.get()).text != "to both":
                    pass

            # Last seen: bob shows it to everyone, disconnects from B; alice (on A) sees it move.
            await bob.privacy.settings(last_seen="everyone")
            before = await alice.privacy.last_seen(bob.account_id)
            assert before is not None
            await asyncio.sleep(0.01)
            await bob.close()
            async with asyncio.timeout(WITHIN):
                while True:
                    seen = await alice.privacy.last_seen(bob.account_id)
                    if seen is not None and seen > before:
                        break
                    await asyncio.sleep(0.05)
        finally:
            for client in (alice, bob):
                await client.close()
            if laptop is not None:
                await laptop.close()
