"""The WebSocket gateway of the real server, fed what an attacker would send: random bytes, random
text, near-valid frames, and sends whose envelope is anything at all — invalid UTF-8, broken JSON,
deep nesting. Whatever a stranger sends, the victim's device still connects, still receives the next
real message, and is never disconnected by what was stored for it."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.abuse.conftest import PASSWORD, LiveServer
from tests.unit.service.fakes import TestDevice

TIMEOUT = 10.0


@dataclass(frozen=True)
class Peer:
    account_id: str
    device_id: str
    token: str


@dataclass(frozen=True)
class Pair:
    ws_url: str
    attacker: Peer
    victim: Peer


def _register(live_server: LiveServer, handle: str) -> Peer:
    device = TestDevice(f"{handle}'s phone")
    body = {"app": "photo", "handle": handle, "password": PASSWORD, "device": device.keys_json()}
    response = httpx.post(f"{live_server.url}/v1/accounts", json=body, timeout=10)
    assert response.status_code == 201, response.text
    data = response.json()
    return Peer(data["account_id"], data["device_id"], data["token"])


@pytest.fixture(scope="module", params=["asgi", "picows"])
def pair(live_server: LiveServer, request: pytest.FixtureRequest) -> Pair:
    """A stranger and her victim, on one of the two WebSocket gateways."""
    ws_url = live_server.ws_urls[0 if request.param == "asgi" else 1]
    assert ws_url, "the fast gateway is not running"
    return Pair(
        ws_url,
        _register(live_server, f"mallory{request.param}"),
        _register(live_server, f"victim{request.param}"),
    )


@contextlib.contextmanager
def _open(url: str, peer: Peer) -> Iterator[ClientConnection]:
    with connect(url, open_timeout=TIMEOUT, max_size=None) as ws:
        ws.send(json.dumps({"t": "hello", "token": peer.token}))
        welcome = json.loads(ws.recv(TIMEOUT))
        assert welcome["t"] == "welcome", welcome
        yield ws


def _send_frame(attacker: Peer, victim: Peer, envelope: bytes, client_id: str) -> bytes:
    """A ``send`` to the victim whose envelope is ``envelope``, spliced in as raw bytes."""
    head = json.dumps({"t": "send", "id": client_id, "to": victim.account_id}).encode()[:-1]
    return head + b', "payloads": {"' + victim.device_id.encode() + b'": ' + envelope + b"}}"


json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
).map(lambda value: json.dumps(value).encode())
envelopes = st.one_of(
    st.binary(min_size=1, max_size=300),  # anything, invalid UTF-8 and broken JSON included
    json_text,
    st.binary(max_size=40).map(lambda b: b'{"type": 0, "body": "' + b + b'"}'),  # bytes inside a string
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.just(b'"\\ud800"'),  # a lone surrogate, escaped
)
client_frames = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.dictionaries(
        st.sampled_from(["t", "id", "to", "conv", "payloads", "body", "upto", "kind", "ids", "typing", "n"]),
        st.none() | st.integers() | st.text(max_size=20) | st.lists(st.integers(), max_size=5),
        max_size=6,
    ).map(lambda frame: json.dumps(frame).encode()),
    st.sampled_from([b'{"t": "ack", "upto": 99999999999}', b'{"t": "ping", "n": -1}', b'{"t": "hello"}']),
)


def _drain_until_pong(ws: ClientConnection, n: int) -> None:
    """Read until the server answers ping ``n`` (so everything sent before it was handled), or closes."""
    ws.send(json.dumps({"t": "ping", "n": n}))
    closed_with: int | None = None
    try:
        while True:
            frame = json.loads(ws.recv(TIMEOUT))
            if frame.get("t") == "pong" and frame.get("n") == n:
                return
    except ConnectionClosed as closed:
        closed_with = closed.rcvd.code if closed.rcvd is not None else None
    assert closed_with in {1007, 1009, 4002, 4008}, f"closed with {closed_with}"


def _receive_marker(ws: ClientConnection, marker: str) -> None:
    """Read deliveries, acking each, until the item holding ``marker`` arrives."""
    while True:
        frame = json.loads(ws.recv(TIMEOUT))
        if frame["t"] != "deliver":
            continue
        items = frame["items"]
        ws.send(json.dumps({"t": "ack", "upto": items[-1]["pos"]}))
        if any(marker in json.dumps(item["body"]) for item in items):
            return


@settings(max_examples=max(20, settings().max_examples // 3))  # each example is three connections
@given(
    junk=st.lists(client_frames, max_size=4),
    stored=st.lists(envelopes, min_size=1, max_size=3),
)
def test_nothing_a_stranger_sends_stops_delivery(pair: Pair, junk: list[bytes], stored: list[bytes]) -> None:
    salt = secrets.token_hex(8)  # client ids must differ between examples (a repeated id is a retry)
    with _open(pair.ws_url, pair.attacker) as attacker:
        try:
            for frame in junk:
                attacker.send(frame)
            for i, envelope in enumerate(stored):
                attacker.send(_send_frame(pair.attacker, pair.victim, envelope, f"junk-{salt}-{i}"))
            _drain_until_pong(attacker, 1)
        except ConnectionClosed:
            pass  # the server may close an abusive connection: that is its right
    # The victim comes online (everything stored above is delivered now), then a real message follows.
    with _open(pair.ws_url, pair.victim) as victim, _open(pair.ws_url, pair.attacker) as sender:
        marker = f"marker-{salt}"
        envelope = json.dumps({"type": 0, "body": marker}).encode()
        sender.send(_send_frame(pair.attacker, pair.victim, envelope, f"real-{salt}"))
        answer = json.loads(sender.recv(TIMEOUT))
        assert answer["t"] == "sent", answer
        _receive_marker(victim, marker)
