"""Nothing a sender puts in a frame can stop delivery to anyone (issue 9), through the real server on
both WebSocket layers: the bad frame is refused to its sender, and the recipient goes on receiving.
A bad item already in the database (older than the checks) is dropped with a notice, once."""

from __future__ import annotations

import json
from typing import Any

import httpx

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.proto.payloads import MAX_OPENS
from passerelle.service.records import OutgoingMessage
from tests.conftest import ServerHandle
from tests.integration.wire import Wire, envelope, register_photo


def server_checks_text_itself(ws_url: str, http: httpx.AsyncClient) -> bool:
    """uvicorn (the ASGI layer) closes a text message that is not UTF-8 itself, with 1007."""
    return ws_url.startswith(str(http.base_url).rstrip("/").replace("http://", "ws://"))


def send_bytes(frame_id: str, to: str, device: str, payload: bytes) -> bytes:
    """A send frame whose one payload is the given bytes, verbatim."""
    head = json.dumps({"t": "send", "id": frame_id, "to": to}).encode()[:-1]
    return head + b', "payloads": {"' + device.encode() + b'": ' + payload + b"}}"


async def still_delivers(alice: Wire, bob: Wire, tag: str) -> None:
    """Alice's next ordinary message reaches Bob, with nothing else before it."""
    await alice.send({"t": "send", "id": tag, "to": bob.account, "payloads": {bob.device_id: envelope(tag)}})
    assert (await alice.next("sent"))["id"] == tag
    frame = await bob.next()
    assert frame["t"] == "deliver", frame
    [item] = frame["items"]
    assert item["body"] == envelope(tag)
    await bob.send({"t": "ack", "upto": item["pos"]})


async def test_a_payload_that_is_not_utf8_json_is_refused_to_its_sender(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    await alice.connect()
    await bob.connect()
    deep = b'{"a": ' + b"[" * MAX_OPENS + b"]" * MAX_OPENS + b"}"
    refusals: list[tuple[bytes | str, str, str | None]] = [
        # Byte 0xff inside a JSON string, as a binary message: the frame is not UTF-8.
        (send_bytes("b1", bob.account, bob.device_id, b'{"x": "\xff"}'), "bad_json", None),
        (send_bytes("b2", bob.account, bob.device_id, b'{"x": "\xed\xa0\x80"}'), "bad_json", None),
        (send_bytes("b3", bob.account, bob.device_id, b'"just a string"'), "invalid_input", "b3"),
        (send_bytes("b4", bob.account, bob.device_id, deep), "invalid_input", "b4"),
        (send_bytes("b5", bob.account, bob.device_id, b'{"x": "\\ud800"}'), "bad_json", None),
    ]
    for data, code, ref in refusals:
        await alice.send_raw(data)
        error = await alice.next("error")
        assert (error["code"], error.get("ref")) == (code, ref), error
        assert error["message"]
    if not server_checks_text_itself(ws_url, http):
        # A text message with bytes that are not UTF-8 (the fast layer does not check text itself).
        assert alice.ws is not None
        await alice.ws.send(send_bytes("b6", bob.account, bob.device_id, b'{"x": "\xff"}'), text=True)
        assert (await alice.next("error"))["code"] == "bad_json"
    # Bob saw none of it, and still gets what comes next, now and after a reconnect.
    await still_delivers(alice, bob, "after")
    await bob.close()
    await bob.connect()
    await still_delivers(alice, bob, "after-reconnect")
    await alice.close()
    await bob.close()


async def test_a_group_body_that_is_not_utf8_json_is_refused(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    made = await http.post("/v1/groups", json={"members": [bob.account]}, headers=alice.auth)
    assert made.status_code == 201, made.text
    conv = made.json()["conv"]
    await alice.connect()
    await bob.connect()
    head = json.dumps({"t": "send", "id": "g1", "conv": conv}).encode()[:-1]
    await alice.send_raw(head + b', "body": {"ciphertext": "\xc3\x28"}}')
    assert (await alice.next("error"))["code"] == "bad_json"
    await alice.send_raw(head + b', "body": [1, 2]}')
    error = await alice.next("error")
    assert (error["code"], error["ref"]) == ("invalid_input", "g1")
    await alice.send({"t": "send", "id": "g2", "conv": conv, "body": envelope("fine")})
    assert (await alice.next("sent"))["id"] == "g2"
    [item] = await bob.items(1, kind="msg")
    assert item["body"] == envelope("fine")
    await alice.close()
    await bob.close()


def legacy(conv: str, sender: Wire, device: str, body: bytes) -> OutgoingMessage:
    return OutgoingMessage(
        kind="msg",
        conv=ConversationId(conv),
        sender=AccountId(sender.account),
        sender_device=DeviceId(sender.device_id),
        client_id=None,
        ts=Timestamp(1),
        expires_at=Timestamp(2**52),
        payloads=((DeviceId(device), body),),
    )


async def test_a_stored_item_that_cannot_be_delivered_is_dropped_with_a_notice_once(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    await alice.connect()
    await still_delivers_offline_setup(alice, bob)
    conv = (await alice.next("sent"))["conv"]
    # Rows written before the checks existed: not UTF-8, not JSON, not an object.
    store = server.running.services.store
    bad = [b'{"x": "\xff"}', b'{"x": ', b"[1]"]
    await store.append([legacy(conv, alice, bob.device_id, body) for body in bad])
    await alice.send(
        {"t": "send", "id": "late", "to": bob.account, "payloads": {bob.device_id: envelope("late")}}
    )
    await alice.next("sent")

    await bob.connect()
    seen: list[dict[str, Any]] = []
    bodies: list[Any] = []
    upto = 0
    while len(bodies) < 2:
        frame = await bob.next()
        seen.append(frame)
        if frame["t"] == "deliver":
            bodies += [i["body"] for i in frame["items"]]
            upto = frame["items"][-1]["pos"]
    notices = [f for f in seen if f["t"] == "error"]
    while len(notices) < 3:
        notices.append(await bob.next("error"))
    assert bodies == [envelope("first"), envelope("late")]
    assert [n["code"] for n in notices] == ["undeliverable"] * 3
    assert all(alice.account in n["message"] for n in notices)
    # The bad items left the mailbox before any ack; once Bob acks, a reconnect brings nothing.
    kept = await store.fetch(DeviceId(bob.device_id), after=MailboxPos(0), limit=10)
    assert [i.body for i in kept] == [json.dumps(envelope(t)).encode() for t in ("first", "late")]
    await bob.send({"t": "ack", "upto": upto})
    await bob.send({"t": "ping", "n": 1})
    await bob.next("pong")
    await bob.close()
    await bob.connect()
    await still_delivers(alice, bob, "again")
    await bob.close()
    await alice.close()


async def still_delivers_offline_setup(alice: Wire, bob: Wire) -> None:
    """Alice writes to Bob, who is offline: the conversation exists and holds one good item."""
    await alice.send(
        {"t": "send", "id": "first", "to": bob.account, "payloads": {bob.device_id: envelope("first")}}
    )


async def test_a_stored_group_body_that_cannot_be_delivered_silences_no_member(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    carol = await register_photo(http, "carol", ws_url)
    made = await http.post("/v1/groups", json={"members": [bob.account, carol.account]}, headers=alice.auth)
    conv = made.json()["conv"]
    # One group message stored before the checks, its shared body not UTF-8: for every member.
    members = (DeviceId(bob.device_id), DeviceId(carol.device_id))
    bad = OutgoingMessage(
        kind="msg",
        conv=ConversationId(conv),
        sender=AccountId(alice.account),
        sender_device=DeviceId(alice.device_id),
        client_id=None,
        ts=Timestamp(1),
        expires_at=Timestamp(2**52),
        payloads=(),
        shared_body=b'{"ciphertext": "\xff\xfe"}',
        shared_to=members,
    )
    await server.running.services.store.append([bad])
    await alice.connect()
    await alice.send({"t": "send", "id": "g-ok", "conv": conv, "body": envelope("fine")})
    assert (await alice.next("sent"))["id"] == "g-ok"
    for member in (bob, carol):
        await member.connect()
        bodies: list[Any] = []
        codes: list[str] = []
        while not (bodies and codes):
            frame = await member.next()
            if frame["t"] == "error":
                codes.append(frame["code"])
            elif frame["t"] == "deliver":
                bodies += [i["body"] for i in frame["items"] if i["kind"] == "msg"]
        assert (bodies, codes) == ([envelope("fine")], ["undeliverable"])
        await member.close()
    await alice.close()
