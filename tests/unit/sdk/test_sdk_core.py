"""ClientCore, sans-I/O: server frames in, typed events out; commands in, frames out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from passerelle.sdk.core.protocol import (
    ClientCore,
    Connected,
    Disconnected,
    ItemsReceived,
    KeysLowReceived,
    Rejected,
    SendFailed,
    SendSucceeded,
    ServerError,
    TypingReceived,
)
from passerelle.sdk.errors import InvalidInput, NotConnected, ProtocolViolation

WELCOME = {"t": "welcome", "account": "acc_a", "device": "dev_a", "otk_count": 3, "time": 1000, "v": 1}


def frame(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def parse(data: bytes | None) -> dict[str, Any]:
    assert data is not None
    result = json.loads(data)
    assert isinstance(result, dict)
    return result


def open_core() -> ClientCore:
    core = ClientCore()
    hello = parse(core.connection_made("tok"))
    assert hello["t"] == "hello"
    assert hello["token"] == "tok"
    assert hello.get("v", 1) == 1  # omitted when it is the default (1)
    assert core.receive(frame(WELCOME)) == [
        Connected(account="acc_a", device="dev_a", otk_count=3, server_time=1000)
    ]
    assert core.connected
    return core


def test_welcome_then_deliver_typing_keys_low() -> None:
    core = open_core()
    item = {
        "pos": 7,
        "kind": "msg",
        "conv": "d_x",
        "from": "acc_b",
        "dev": "dev_b",
        "ts": 5,
        "exp": 9,
        "body": {"a": 1},
        "mid": 42,
    }
    [event] = core.receive(frame({"t": "deliver", "items": [item]}))
    assert isinstance(event, ItemsReceived)
    assert event.items[0].pos == 7
    assert event.items[0].sender == "acc_b"
    assert json.loads(bytes(event.items[0].body)) == {"a": 1}
    assert core.receive(frame({"t": "typing", "conv": "d_x", "from": "acc_b", "typing": True})) == [
        TypingReceived(conv="d_x", sender="acc_b", typing=True)
    ]
    assert core.receive(frame({"t": "keys_low", "count": 4})) == [KeysLowReceived(count=4)]


def test_hello_refused() -> None:
    core = ClientCore()
    core.connection_made("bad")
    assert core.receive(frame({"t": "error", "code": "unauthorized", "message": "no"})) == [
        Rejected(code="unauthorized", message="no")
    ]
    assert not core.connected


def test_send_is_answered_by_sent_or_error_with_ref() -> None:
    core = open_core()
    data = parse(core.send_message(client_id="c1", payloads={"dev_b": b'{"x":1}'}, to="acc_b", ttl=60))
    assert data == {"t": "send", "id": "c1", "payloads": {"dev_b": {"x": 1}}, "to": "acc_b", "ttl": 60}
    assert core.pending_sends == ["c1"]
    sent = {"t": "sent", "id": "c1", "mid": 10, "conv": "d_x", "ts": 2, "exp": 3}
    assert core.receive(frame(sent)) == [SendSucceeded(client_id="c1", mid=10, conv="d_x", ts=2, exp=3)]
    assert core.pending_sends == []

    core.send_message(client_id="c2", payloads={}, conv="d_x")
    error = {
        "t": "error",
        "code": "stale_devices",
        "message": "m",
        "ref": "c2",
        "missing": ["d1"],
        "extra": [],
    }
    assert core.receive(frame(error)) == [
        SendFailed(client_id="c2", code="stale_devices", message="m", missing=("d1",), extra=())
    ]
    assert core.receive(frame({"t": "error", "code": "forbidden", "message": "read receipts off"})) == [
        ServerError(code="forbidden", message="read receipts off")
    ]


def test_unanswered_sends_and_queued_receipts_are_written_after_reconnect() -> None:
    core = open_core()
    first = core.send_message(client_id="c1", payloads={"d": b"{}"}, to="acc_b")
    assert core.connection_lost() == Disconnected()
    assert not core.connected
    # While disconnected: sends are remembered, receipts queued, typing refused.
    assert core.send_message(client_id="c2", payloads={"d": b"{}"}, to="acc_b") is None
    assert core.receipt(conv="d_x", to="acc_b", kind="delivered", ids=[1, 2]) is None
    with pytest.raises(NotConnected):
        core.typing(conv="d_x", typing=True)
    assert core.pending_frames() == []
    core.connection_made("tok")
    core.receive(frame(WELCOME))
    frames = [parse(f) for f in core.pending_frames()]
    assert frames[0] == parse(first)
    assert [f["id"] for f in frames[:2]] == ["c1", "c2"]
    assert frames[2] == {"t": "receipt", "conv": "d_x", "to": "acc_b", "kind": "delivered", "ids": [1, 2]}
    assert core.pending_frames()[2:] == []  # receipts go out once


def test_ack_only_what_is_stored_and_only_once() -> None:
    core = open_core()
    assert core.ack() is None
    core.stored(5)
    assert parse(core.ack()) == {"t": "ack", "upto": 5}
    assert core.ack() is None
    core.stored(3)  # never backwards
    assert core.ack() is None
    core.stored(9)
    assert parse(core.ack()) == {"t": "ack", "upto": 9}


def test_ping_needs_the_previous_pong() -> None:
    core = open_core()
    assert parse(core.ping()) == {"t": "ping", "n": 1}
    assert core.ping() is None  # unanswered: the link is dead
    core.receive(frame({"t": "pong", "n": 1}))
    assert parse(core.ping()) == {"t": "ping", "n": 2}


def test_bad_input_and_bad_frames() -> None:
    core = open_core()
    with pytest.raises(InvalidInput):
        core.send_message(client_id="", payloads={}, to="a")
    with pytest.raises(InvalidInput):
        core.send_message(client_id="x" * 65, payloads={}, to="a")
    with pytest.raises(InvalidInput):
        core.send_message(client_id="ok", payloads={}, to="a", conv="b")
    with pytest.raises(ProtocolViolation):
        core.receive(b"not json")
    with pytest.raises(ProtocolViolation):
        core.receive(frame({"t": "nonsense"}))
    before = ClientCore()
    before.connection_made("tok")
    with pytest.raises(ProtocolViolation):
        before.receive(frame({"t": "pong", "n": 0}))  # anything but welcome/error before welcome
