"""Several nodes: two real servers share one PostgreSQL schema and one Redis, and any node serves
any client. Spoken by hand with the wire client; the envelopes are opaque to the server.

What a user observes: messages cross nodes in order and exactly once, wait in the shared mailbox
while a device is offline, device changes made through one node are enforced and announced on the
other, and a node that stops or loses Redis loses nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from tests.integration.cluster import REDIS_URL, Cluster, Node, cluster
from tests.integration.wire import Wire, add_photo_device, envelope, register_photo

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(60)]
WITHIN = 10.0


def send(client_id: str, to: Wire, tag: str, *devices: Wire) -> dict[str, Any]:
    """A send frame to ``to``'s account with one envelope per device (``to`` itself when none given)."""
    targets = devices or (to,)
    return {
        "t": "send",
        "id": client_id,
        "to": to.account,
        "payloads": {d.device_id: envelope(tag) for d in targets},
    }


def tags(items: list[dict[str, Any]]) -> list[str]:
    return [i["body"]["ciphertext"]["x"]["body"] for i in items]


async def gather(
    wire: Wire, *, sent: int = 0, items: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Read frames until ``sent`` acknowledgements and ``items`` mailbox items have come, keeping
    both (the wire client's ``next`` would drop the kind it does not wait for)."""
    acks: list[dict[str, Any]] = []
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(WITHIN):
        while len(acks) < sent or len(got) < items:
            frame = await wire.frames.get()
            if frame["t"] == "sent":
                acks.append(frame)
            elif frame["t"] == "deliver":
                got.extend(frame["items"])
            elif frame["t"] == "error":
                raise AssertionError(f"unexpected error frame: {frame}")
    return acks, got


async def nothing_more(*wires: Wire) -> None:
    """No further delivery comes (a duplicate would show up here)."""
    for wire in wires:
        with pytest.raises(TimeoutError):
            await wire.next("deliver", within=0.3)


async def closed_by_server(wire: Wire) -> int | None:
    """Wait for the server to close the client's connection; its close code."""
    assert wire.reader is not None and wire.ws is not None
    done, _ = await asyncio.wait({wire.reader}, timeout=WITHIN)
    assert done, "the server did not close the connection"
    return wire.ws.close_code


def assert_in_order_once(items: list[dict[str, Any]], expected: list[str]) -> None:
    assert tags(items) == expected
    assert len({i["mid"] for i in items}) == len(items)
    positions = [i["pos"] for i in items]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


async def people(a: Node, b: Node, c: Cluster) -> tuple[Wire, Wire]:
    """Alice registered through and connected to node A, Bob through and to node B."""
    alice = c.on(a, await register_photo(a.http, "alice"))
    bob = c.on(b, await register_photo(b.http, "bob"))
    await alice.connect()
    await bob.connect()
    return alice, bob


async def test_messages_cross_nodes_both_ways_in_order_and_exactly_once(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        n = 40

        for i in range(n):
            await alice.send(send(f"a{i}", bob, f"alice {i}"))
            await bob.send(send(f"b{i}", alice, f"bob {i}"))
        alice_acks, alice_got = await gather(alice, sent=n, items=n)
        bob_acks, bob_got = await gather(bob, sent=n, items=n)

        assert_in_order_once(bob_got, [f"alice {i}" for i in range(n)])
        assert_in_order_once(alice_got, [f"bob {i}" for i in range(n)])
        assert [i["mid"] for i in bob_got] == [s["mid"] for s in alice_acks]
        assert [i["mid"] for i in alice_got] == [s["mid"] for s in bob_acks]
        assert {i["from"] for i in bob_got} == {alice.account}
        await nothing_more(alice, bob)


async def test_an_offline_device_finds_its_messages_on_whichever_node_it_reconnects_to(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        await bob.close()

        for i in range(5):
            await alice.send(send(f"m{i}", bob, str(i)))
        await gather(alice, sent=5)
        await bob.connect()  # node B

        first = await bob.items(5)
        assert_in_order_once(first, ["0", "1", "2", "3", "4"])
        await nothing_more(bob)
        # Unacknowledged, they come again on the other node too: the mailbox is shared.
        await bob.close()
        c.on(a, bob)
        await bob.connect()
        again = await bob.items(5)
        assert [i["mid"] for i in again] == [i["mid"] for i in first]


async def test_a_device_added_through_one_node_is_required_by_the_next_send_on_the_other(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        await alice.send(send("m1", bob, "before"))  # node A now has both device lists cached
        await gather(alice, sent=1)
        await bob.items(1)

        tablet = c.on(a, await add_photo_device(b.http, "bob", "Bob's tablet"))
        [notice] = await bob.items(1)
        assert notice["kind"] == "device" and notice["body"] == {
            "event": "added",
            "device_id": tablet.device_id,
        }
        laptop = c.on(b, await add_photo_device(b.http, "alice", "Alice's laptop"))
        # Alice's phone on node A hears of her new laptop after node A dropped its cached lists
        # (the broker carries the invalidation before the poke for this notice).
        [notice] = await alice.items(1)
        assert notice["kind"] == "device" and notice["body"] == {
            "event": "added",
            "device_id": laptop.device_id,
        }

        await alice.send(send("m2", bob, "after"))
        error = await alice.next("error", within=WITHIN)
        assert error["code"] == "stale_devices" and error["ref"] == "m2"
        assert error["missing"] == sorted([tablet.device_id, laptop.device_id]) and error["extra"] == []

        await alice.send(send("m2", bob, "after", bob, tablet, laptop))
        [sent], _ = await gather(alice, sent=1)
        await tablet.connect()  # node A
        await laptop.connect()  # node B
        for device in (bob, tablet, laptop):
            [item] = await device.items(1, kind="msg", within=WITHIN)
            assert item["mid"] == sent["mid"] and item["body"] == envelope("after")


async def test_a_device_removed_through_one_node_is_disconnected_on_the_other(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        laptop = c.on(b, await add_photo_device(a.http, "alice", "Alice's laptop"))
        await alice.items(1)  # the "added" notice
        await laptop.connect()  # node B
        await bob.send(send("m1", alice, "hi", alice, laptop))  # node B caches Alice's devices
        await gather(bob, sent=1)

        response = await a.http.delete(f"/v1/devices/{laptop.device_id}", headers=alice.auth)
        assert response.status_code == 204

        assert await closed_by_server(laptop) == 4001
        notices = await alice.items(2, within=WITHIN)  # Bob's message, then the removal
        assert notices[-1]["kind"] == "device"
        assert notices[-1]["body"] == {"event": "removed", "device_id": laptop.device_id}
        async with connect(b.ws_url) as ws:
            await ws.send(json.dumps({"t": "hello", "token": laptop.token}))
            assert json.loads(await ws.recv())["code"] == "unauthorized"
        # Node B no longer expects the laptop in Bob's next send (it dropped Alice's cached list
        # before it closed the laptop's connection).
        await bob.send(send("m2", alice, "again", alice, laptop))
        error = await bob.next("error", within=WITHIN)
        assert error["code"] == "stale_devices" and error["extra"] == [laptop.device_id]


async def test_typing_and_timers_cross_nodes(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        await alice.send(send("m1", bob, "hi"))  # node A caches the conversation
        [sent], _ = await gather(alice, sent=1)
        conv = sent["conv"]
        await bob.items(1)
        # alice is a stranger to bob: he accepts her request (on node B) so his typing reaches her.
        accepted = await b.http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
        assert accepted.status_code == 200, accepted.text

        await bob.send({"t": "typing", "conv": conv, "typing": True})
        assert await alice.next("typing", within=WITHIN) == {
            "t": "typing",
            "conv": conv,
            "from": bob.account,
            "typing": True,
        }
        await alice.send({"t": "typing", "conv": conv, "typing": False})
        assert (await bob.next("typing", within=WITHIN))["typing"] is False

        response = await b.http.put(
            f"/v1/conversations/{conv}/timer", json={"timer": 86400}, headers=bob.auth
        )
        assert response.status_code == 200
        [notice] = await alice.items(1, within=WITHIN)  # after node A dropped the cached conversation
        assert notice["kind"] == "timer" and notice["body"] == {"timer": 86400}
        await alice.send(send("m2", bob, "brief"))
        [sent], _ = await gather(alice, sent=1)
        assert sent["exp"] - sent["ts"] == 86_400_000


async def test_a_stopped_node_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        laptop = c.on(b, await add_photo_device(b.http, "bob", "Bob's laptop"))  # offline for now
        await bob.items(1)  # the "added" notice
        n = 30

        for i in range(n):
            await alice.send(send(f"m{i}", bob, str(i), bob, laptop))
        acks, _ = await gather(alice, sent=n)
        await a.stop()

        _, live = await gather(bob, items=n)
        assert_in_order_once(live, [str(i) for i in range(n)])
        assert [i["mid"] for i in live] == [s["mid"] for s in acks]
        await laptop.connect()  # node B
        stored = await laptop.items(n, within=WITHIN)
        assert_in_order_once(stored, [str(i) for i in range(n)])
        # Alice carries on through node B.
        await alice.close()
        c.on(b, alice)
        await alice.connect()
        await alice.send(send("after", bob, "after", bob, laptop))
        await gather(alice, sent=1)
        assert tags(await bob.items(1)) == ["after"]
        await nothing_more(bob)


async def test_a_node_that_loses_redis_resyncs_and_delivers_exactly_once(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = c.nodes
        alice, bob = await people(a, b, c)
        for i in range(5):
            await alice.send(send(f"m{i}", bob, str(i)))
        await gather(alice, sent=5)
        assert tags(await bob.items(5)) == ["0", "1", "2", "3", "4"]

        # Cut node B's subscription; pokes published before it is back are lost to it, and the
        # resync on resubscription is what delivers them.
        operator = aioredis.from_url(REDIS_URL)
        try:
            clients = await operator.client_list(_type="pubsub")
            [victim] = [x["id"] for x in clients if x["name"] == b.redis_client_name]
            assert await operator.client_kill_filter(_id=victim) == 1
        finally:
            await operator.aclose()
        for i in range(5, 10):
            await alice.send(send(f"m{i}", bob, str(i)))
        await gather(alice, sent=5)

        assert tags(await bob.items(5, within=WITHIN)) == ["5", "6", "7", "8", "9"]
        await nothing_more(bob)
