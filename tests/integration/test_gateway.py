"""The WebSocket gateway through the real server, spoken by hand: what the server does with frames."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerHandle, assert_absent
from tests.integration.wire import Wire, add_photo_device, envelope, register_photo


async def pair(http: httpx.AsyncClient, ws_url: str) -> tuple[Wire, Wire]:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    await alice.connect()
    await bob.connect()
    return alice, bob


async def test_a_message_is_stored_acked_delivered_and_deleted_after_the_ack(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice, bob = await pair(http, ws_url)
    await alice.send(
        {"t": "send", "id": "m1", "to": bob.account, "payloads": {bob.device_id: envelope("one")}}
    )
    sent = await alice.next("sent")
    assert sent["id"] == "m1" and sent["mid"] > 0 and sent["conv"].startswith("d_")
    [item] = await bob.items(1)
    assert item["kind"] == "msg" and item["from"] == alice.account and item["dev"] == alice.device_id
    assert item["mid"] == sent["mid"] and item["body"] == envelope("one")
    await bob.send({"t": "ack", "upto": item["pos"]})
    await bob.send({"t": "ping", "n": 1})
    await bob.next("pong")
    await bob.close()
    # Reconnecting brings nothing back: the acked item is gone.
    await bob.connect()
    await alice.send(
        {"t": "send", "id": "m2", "to": bob.account, "payloads": {bob.device_id: envelope("two")}}
    )
    [again] = await bob.items(1)
    assert again["body"] == envelope("two")
    await alice.close()
    await bob.close()
    # Bearer tokens are never written anywhere: the database keeps their hash, the logs nothing.
    assert_absent([alice.token, bob.token], server.server_files())


async def test_an_offline_device_gets_exactly_what_it_has_not_acked(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    await _acked_items_are_not_delivered_again(http, ws_url)


@pytest.mark.settings(commit_delay_s=0.3)
async def test_an_ack_still_waiting_for_its_commit_is_not_delivered_again(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    """A device that acks and reconnects before the ack is committed is not sent those items again
    (the new connection starts after the pending ack)."""
    await _acked_items_are_not_delivered_again(http, ws_url)


async def _acked_items_are_not_delivered_again(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    await bob.close()
    for n in range(5):
        await alice.send(
            {"t": "send", "id": f"m{n}", "to": bob.account, "payloads": {bob.device_id: envelope(str(n))}}
        )
    for _ in range(5):
        await alice.next("sent")
    await bob.connect()
    items = await bob.items(5)
    assert [i["body"]["ciphertext"]["x"]["body"] for i in items] == ["0", "1", "2", "3", "4"]
    await bob.send({"t": "ack", "upto": items[2]["pos"]})
    await bob.send({"t": "ping"})
    await bob.next("pong")
    await bob.close()
    await bob.connect()
    rest = await bob.items(2)
    assert [i["body"]["ciphertext"]["x"]["body"] for i in rest] == ["3", "4"]
    with pytest.raises(TimeoutError):
        await bob.next("deliver", within=0.3)
    await alice.close()
    await bob.close()


async def test_a_repeated_client_id_returns_the_first_result_and_stores_nothing(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    alice, bob = await pair(http, ws_url)
    frame = {"t": "send", "id": "same", "to": bob.account, "payloads": {bob.device_id: envelope("first")}}
    await alice.send(frame)
    first = await alice.next("sent")
    await alice.send({**frame, "payloads": {bob.device_id: envelope("second")}})
    second = await alice.next("sent")
    assert second == first
    [item] = await bob.items(1)
    assert item["body"] == envelope("first")
    with pytest.raises(TimeoutError):
        await bob.next("deliver", within=0.3)
    await alice.close()
    await bob.close()


async def test_sends_must_name_exactly_the_current_devices(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    bob2 = await add_photo_device(http, "bob", "Bob's laptop", ws_url)
    alice2 = await add_photo_device(http, "alice", "Alice's laptop", ws_url)
    await alice.send({"t": "send", "id": "x1", "to": bob.account, "payloads": {bob.device_id: envelope("a")}})
    error = await alice.next("error")
    assert error["code"] == "stale_devices" and error["ref"] == "x1"
    assert sorted(error["missing"]) == sorted([bob2.device_id, alice2.device_id]) and error["extra"] == []
    payloads = {d: envelope("a") for d in (bob.device_id, bob2.device_id, alice2.device_id, "dBOGUS")}
    await alice.send({"t": "send", "id": "x1", "to": bob.account, "payloads": payloads})
    error = await alice.next("error")
    assert error["extra"] == ["dBOGUS"] and error["missing"] == []
    del payloads["dBOGUS"]
    await alice.send({"t": "send", "id": "x1", "to": bob.account, "payloads": payloads})
    assert (await alice.next("sent"))["id"] == "x1"
    # Multi-device: both of Bob's devices and Alice's other device get it, each its own envelope.
    await bob2.connect()
    await alice2.connect()
    for device in (bob, bob2, alice2):
        [item] = await device.items(1, kind="msg")
        assert item["from"] == alice.account and item["dev"] == alice.device_id
    for device in (alice, bob, bob2, alice2):
        await device.close()


async def test_order_is_preserved_per_conversation(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    # Bob writes first, so alice's 200 are not a stranger's request (which may leave only 50
    # unacknowledged messages waiting, protocol section 9.2; this client does not ack).
    await bob.send(
        {"t": "send", "id": "hi", "to": alice.account, "payloads": {alice.device_id: envelope("hi")}}
    )
    await bob.next("sent")
    for n in range(200):
        await alice.send(
            {"t": "send", "id": f"o{n}", "to": bob.account, "payloads": {bob.device_id: envelope(str(n))}}
        )
    items = await bob.items(200)
    assert [int(i["body"]["ciphertext"]["x"]["body"]) for i in items] == list(range(200))
    positions = [i["pos"] for i in items]
    assert positions == sorted(positions) and len(set(positions)) == 200
    await alice.close()
    await bob.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ('{"t":"launch"}', "unknown_frame"),
        ('{"t":"send","id":7,"payloads":{}}', "bad_frame"),
        ('{"t":"send","id":"a","payloads":{}}', "invalid_input"),
        ('{"t":"send","id":"a","to":"a_nobody00000000000000","payloads":{}}', "not_found"),
        ('{"t":"send","id":"' + "x" * 65 + '","to":"a","payloads":{}}', "invalid_input"),
        ('{"t":"receipt","conv":"d_nope","to":"a","kind":"read","ids":[1]}', "not_found"),
        ('{"t":"typing","conv":"d_nope"}', "not_found"),
    ],
)
async def test_bad_frames_get_a_typed_error_and_the_connection_stays_usable(
    http: httpx.AsyncClient, frame: str, code: str, ws_url: str
) -> None:
    alice, bob = await pair(http, ws_url)
    await alice.send_raw(frame)
    error = await alice.next("error")
    assert error["code"] == code, error
    await alice.send(
        {"t": "send", "id": "ok", "to": bob.account, "payloads": {bob.device_id: envelope("fine")}}
    )
    assert (await alice.next("sent"))["id"] == "ok"
    await alice.close()
    await bob.close()


async def test_wrong_or_missing_token_closes_with_4001(server: ServerHandle, ws_url: str) -> None:
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "token": "not-a-token"}))
        error = json.loads(await ws.recv())
        assert error["t"] == "error" and error["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"t": "ack", "upto": 1}))
        assert json.loads(await ws.recv())["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_a_flood_of_garbage_closes_the_connection_but_not_the_server(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice, bob = await pair(http, ws_url)
    for _ in range(25):
        await alice.send_raw("}{")
    assert alice.reader is not None
    await asyncio.wait_for(alice.reader, 5)
    # The server and other people are fine.
    await bob.send({"t": "ping", "n": 2})
    assert (await bob.next("pong"))["n"] == 2
    assert (await http.get("/readyz")).status_code == 200
    await bob.close()


async def test_oversized_frame_closes_with_1009(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    huge = {
        "t": "send",
        "id": "big",
        "to": bob.account,
        "payloads": {bob.device_id: {"b": "x" * (1024 * 1024 + 10)}},
    }
    await alice.send(huge)
    assert alice.reader is not None
    await asyncio.wait_for(alice.reader, 5)
    assert alice.ws is not None and alice.ws.close_code == 1009
    await bob.close()


async def test_oversized_envelope_is_refused(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    await alice.send(
        {"t": "send", "id": "fat", "to": bob.account, "payloads": {bob.device_id: {"b": "x" * 70_000}}}
    )
    error = await alice.next("error")
    assert error["code"] == "too_large" and error["ref"] == "fat"
    await alice.close()
    await bob.close()


async def test_receipts_typing_and_timers(http: httpx.AsyncClient, ws_url: str) -> None:
    alice, bob = await pair(http, ws_url)
    await alice.send(
        {"t": "send", "id": "r1", "to": bob.account, "payloads": {bob.device_id: envelope("hi")}}
    )
    sent = await alice.next("sent")
    conv = sent["conv"]
    [item] = await bob.items(1)
    # alice is a stranger to bob: her first message is a request until bob accepts it.
    accepted = await http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
    assert accepted.status_code == 200, accepted.text
    await bob.send(
        {"t": "receipt", "conv": conv, "to": alice.account, "kind": "delivered", "ids": [item["mid"]]}
    )
    await bob.send({"t": "receipt", "conv": conv, "to": alice.account, "kind": "read", "ids": [item["mid"]]})
    receipts = await alice.items(2)
    assert [(r["kind"], r["body"]["kind"], r["body"]["ids"], r["from"]) for r in receipts] == [
        ("receipt", "delivered", [item["mid"]], bob.account),
        ("receipt", "read", [item["mid"]], bob.account),
    ]
    await bob.send({"t": "typing", "conv": conv, "typing": True})
    typing = await alice.next("typing")
    assert typing == {"t": "typing", "conv": conv, "from": bob.account, "typing": True}
    # Bob turns read receipts off: he can no longer send them, and gets none.
    response = await http.patch("/v1/me/settings", json={"read_receipts": False}, headers=bob.auth)
    assert response.status_code == 200
    await bob.send({"t": "receipt", "conv": conv, "to": alice.account, "kind": "read", "ids": [item["mid"]]})
    assert (await bob.next("error"))["code"] == "forbidden"
    await alice.send({"t": "receipt", "conv": conv, "to": bob.account, "kind": "read", "ids": [item["mid"]]})
    with pytest.raises(TimeoutError):
        await bob.next("deliver", within=0.3)
    # A disappearing timer: a notice to the other side, and the next message expires with it.
    response = await http.put(f"/v1/conversations/{conv}/timer", json={"timer": 86400}, headers=alice.auth)
    assert response.status_code == 200 and response.json()["timer"] == 86400
    [notice] = await bob.items(1)
    assert notice["kind"] == "timer" and notice["body"] == {"timer": 86400}
    await alice.send(
        {"t": "send", "id": "r2", "to": bob.account, "payloads": {bob.device_id: envelope("brief")}}
    )
    sent = await alice.next("sent")
    assert sent["exp"] - sent["ts"] == 86_400_000
    bad = await http.put(f"/v1/conversations/{conv}/timer", json={"timer": 5}, headers=alice.auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"
    await alice.close()
    await bob.close()


async def test_a_removed_device_is_disconnected_and_the_others_are_told(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    alice, _bob = await pair(http, ws_url)
    laptop = await add_photo_device(http, "alice", "Alice's laptop", ws_url)
    [added] = await alice.items(1)
    assert added["kind"] == "device" and added["body"] == {"event": "added", "device_id": laptop.device_id}
    await laptop.connect()
    response = await http.delete(f"/v1/devices/{laptop.device_id}", headers=alice.auth)
    assert response.status_code == 204
    [removed] = await alice.items(1)
    assert removed["body"] == {"event": "removed", "device_id": laptop.device_id}
    assert laptop.reader is not None
    await asyncio.wait_for(laptop.reader, 5)
    assert laptop.ws is not None and laptop.ws.close_code == 4001
    async with connect(laptop.ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "token": laptop.token}))
        assert json.loads(await ws.recv())["code"] == "unauthorized"
    await alice.close()
    await _bob.close()


async def test_expired_messages_are_not_delivered_and_the_janitor_deletes_them(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice, bob = await pair(http, ws_url)
    await bob.close()
    await alice.send(
        {"t": "send", "id": "e1", "to": bob.account, "ttl": 60, "payloads": {bob.device_id: envelope("x")}}
    )
    await alice.next("sent")
    server.clock.advance(61)
    assert await server.running.services.janitor.run_once() >= 1
    await bob.connect()
    with pytest.raises(TimeoutError):
        await bob.next("deliver", within=0.3)
    await alice.close()
    await bob.close()
