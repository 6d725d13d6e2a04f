"""Logging in on the WebSocket itself (docs/protocol.md section 5.1): ``login`` → ``challenge`` →
``hello`` with the signed challenge → ``welcome`` with a new token, on both WebSocket layers, with
the properties of ``POST /v1/auth/token``: a challenge is used once (a bad signature spends it),
is bound to its device, and the token is good for REST and later hellos."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from passerelle.domain.limits import Limits
from tests.conftest import ServerHandle
from tests.integration.wire import Wire, register_photo
from tests.unit.service.fakes import TestDevice


async def _challenge(ws: ClientConnection, device_id: str) -> str:
    await ws.send(json.dumps({"t": "login", "device": device_id}))
    frame = json.loads(await ws.recv())
    assert frame["t"] == "challenge", frame
    assert frame["expires_in"] > 0
    challenge: str = frame["challenge"]
    return challenge


def _signed_hello(device_id: str, challenge: str, signer: TestDevice) -> str:
    signature = signer.login_signature(device_id, challenge)
    return json.dumps({"t": "hello", "device": device_id, "challenge": challenge, "signature": signature})


async def _refused(ws: ClientConnection, code: str, close: int) -> None:
    error = json.loads(await ws.recv())
    assert error["t"] == "error" and error["code"] == code, error
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == close


async def _log_in(alice: Wire) -> tuple[dict[str, Any], str]:
    """A login on a fresh connection: the welcome and the signed hello (closed after)."""
    async with connect(alice.ws_url) as ws:
        challenge = await _challenge(ws, alice.device_id)
        hello = _signed_hello(alice.device_id, challenge, alice.keys)
        await ws.send(hello)
        welcome = json.loads(await ws.recv())
        assert welcome["t"] == "welcome", welcome
        await ws.send(json.dumps({"t": "ping", "n": 7}))
        assert json.loads(await ws.recv()) == {"t": "pong", "n": 7}
    return welcome, hello


async def test_a_device_logs_in_on_the_websocket_and_its_new_token_works_everywhere(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    welcome, _ = await _log_in(alice)
    assert (welcome["account"], welcome["device"]) == (alice.account, alice.device_id)
    assert welcome["address"] == "photo:alice"
    token = welcome["token"]
    assert token and token != alice.token and welcome["expires_at"] > welcome["time"]
    me = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["device_id"] == alice.device_id
    alice.token = token
    again = await alice.connect()
    assert again["t"] == "welcome" and "token" not in again
    await alice.close()
    # Earlier tokens of the device stay valid, as with POST /v1/auth/token.
    old = await http.get("/v1/me", headers={"Authorization": f"Bearer {welcome['token']}"})
    assert old.status_code == 200


async def test_a_signed_hello_is_used_once(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    _, hello = await _log_in(alice)
    async with connect(ws_url) as ws:
        await ws.send(hello)
        await _refused(ws, "unauthorized", 4001)


async def test_a_bad_signature_is_refused_and_spends_the_challenge(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    async with connect(ws_url) as ws:
        challenge = await _challenge(ws, alice.device_id)
        await ws.send(_signed_hello(alice.device_id, challenge, TestDevice()))
        await _refused(ws, "unauthorized", 4001)
    async with connect(ws_url) as ws:
        await ws.send(_signed_hello(alice.device_id, challenge, alice.keys))
        await _refused(ws, "unauthorized", 4001)


async def test_a_challenge_is_bound_to_its_device(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    bob = await register_photo(http, "bob", ws_url)
    async with connect(ws_url) as ws:
        challenge = await _challenge(ws, alice.device_id)
        await ws.send(_signed_hello(bob.device_id, challenge, bob.keys))
        await _refused(ws, "unauthorized", 4001)


async def test_a_challenge_from_rest_signs_a_hello_too(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    response = await http.post("/v1/auth/challenge", json={"device_id": alice.device_id})
    challenge = response.json()["challenge"]
    async with connect(ws_url) as ws:
        await ws.send(_signed_hello(alice.device_id, challenge, alice.keys))
        welcome = json.loads(await ws.recv())
        assert welcome["t"] == "welcome" and welcome["token"], welcome


async def test_an_unknown_device_gets_a_challenge_that_never_verifies(
    http: httpx.AsyncClient, ws_url: str
) -> None:
    stranger = TestDevice()
    async with connect(ws_url) as ws:
        challenge = await _challenge(ws, "dnosuchdevice")
        await ws.send(_signed_hello("dnosuchdevice", challenge, stranger))
        await _refused(ws, "unauthorized", 4001)


async def test_a_second_login_or_a_send_before_hello_closes(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    async with connect(ws_url) as ws:
        await _challenge(ws, alice.device_id)
        await ws.send(json.dumps({"t": "login", "device": alice.device_id}))
        await _refused(ws, "bad_state", 4002)
    async with connect(ws_url) as ws:
        await _challenge(ws, alice.device_id)
        await ws.send(json.dumps({"t": "ack", "upto": 1}))
        await _refused(ws, "unauthorized", 4001)


async def test_an_expired_challenge_is_refused(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    alice = await register_photo(http, "alice", ws_url)
    async with connect(ws_url) as ws:
        challenge = await _challenge(ws, alice.device_id)
        server.clock.advance(Limits().challenge_ttl_s + 1)
        await ws.send(_signed_hello(alice.device_id, challenge, alice.keys))
        await _refused(ws, "unauthorized", 4001)


@pytest.mark.settings(limits={"logins_per_window": 2})
async def test_logins_on_the_websocket_are_limited_like_rest(http: httpx.AsyncClient, ws_url: str) -> None:
    alice = await register_photo(http, "alice", ws_url)
    for attempt in range(4):
        async with connect(ws_url) as ws:
            await ws.send(json.dumps({"t": "login", "device": alice.device_id}))
            frame = json.loads(await ws.recv())
            if frame["t"] == "error":
                assert attempt >= 1 and frame["code"] == "rate_limited" and frame["retry_after"] > 0
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
                return
            await ws.send(_signed_hello(alice.device_id, frame["challenge"], alice.keys))
            assert json.loads(await ws.recv())["t"] in {"welcome", "error"}
    pytest.fail("four logins in a window of two were not limited")
