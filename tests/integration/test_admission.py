"""Nobody can silence, flood or out-wait a person or the server by holding WebSockets: the attacks of
issue 9 replayed through the real server, on both WebSocket layers (uvicorn's ASGI one and picows).

Every source address is a loopback address of its own (127.0.0.0/8 is all loopback on Linux), so an
attacker and its victims really are different clients to the server. What the server holds is read
from the kernel (/proc/net/tcp: its sockets on its port that are still open), not from its own counts.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from passerelle.domain.ids import DeviceId
from passerelle.domain.limits import Limits
from passerelle.server import uvicorn_protocols
from passerelle.server.runner import RunningServer, running_server
from passerelle.service.ports import DeviceNews
from tests.conftest import CodeInbox, SettableClock, make_settings
from tests.integration.wire import PASSWORD, Wire, add_photo_device, envelope, register_photo

pytestmark = pytest.mark.timeout(120)
WITHIN = 10.0
POLL_S = 0.05
"""How long a test waits for what should come; a server-closed socket whose client never answers the
close frame is dropped within hello_timeout_s + 2 s (uvicorn's close handshake, server/runner.py)."""
ATTACKER = "127.0.0.1"
HANDSHAKE = (
    b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
OPEN_STATES = {"01", "08"}
"""ESTABLISHED and CLOSE_WAIT: the server's end of the socket is still open (it holds the fd)."""


def server_sockets(url: str) -> int:
    """Sockets the server holds open on the port of ``url``, as the kernel sees them."""
    port = urlsplit(url).port
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in OPEN_STATES:
                    held += 1
    return held


async def sockets_settle(url: str, expected: int) -> int:
    """The server's open sockets on the port of ``url`` once they number ``expected``, else their count
    after WITHIN seconds: a client sees the close frame a moment before the server's socket closes."""
    for _ in range(int(WITHIN / POLL_S)):  # the kernel's socket table has no event to wait on
        if (held := server_sockets(url)) == expected:
            return held
        await asyncio.sleep(POLL_S)
    return server_sockets(url)


def gateway_url(server: RunningServer, layer: str) -> str:
    if layer == "asgi":
        return server.ws_url
    assert server.fast_ws_url is not None
    return server.fast_ws_url


@pytest.fixture(params=["asgi", "picows"])
def layer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def serving(
    tmp_path: Path, clock: SettableClock | None = None, **limits: Any
) -> AsyncIterator[RunningServer]:
    settings = replace(make_settings(tmp_path), limits=replace(Limits(), **limits))
    async with running_server(settings, clock=clock, code_sender=CodeInbox()) as server:
        yield server


class Idle:
    """A raw TCP connection that did the WebSocket handshake and then says nothing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, source: str) -> Idle:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port, local_addr=(source, 0))
        writer.write(HANDSHAKE.replace(b"/v1/ws", parts.path.encode()))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def closed_by_server(self, within: float = WITHIN) -> bool:
        """True when the server ends the connection within the time."""
        try:
            async with asyncio.timeout(within):
                while await self.reader.read(4096):
                    pass
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


async def open_many(url: str, source: str, count: int) -> list[Idle]:
    gate = asyncio.Semaphore(64)

    async def one() -> Idle:
        async with gate:
            return await Idle.open(url, source)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def ws_from(url: str, source: str) -> ClientConnection:
    return await connect(url, local_addr=(source, 0), max_size=2**22)


async def first_frame_and_close(ws: ClientConnection) -> tuple[dict[str, Any], int | None]:
    """The one frame a refused client gets, and the close code that follows it."""
    async with asyncio.timeout(WITHIN):
        frame = json.loads(await ws.recv())
        await ws.wait_closed()
    return frame, ws.close_code


async def connect_from(wire: Wire, source: str) -> dict[str, Any]:
    """``Wire.connect``, from a source address of the test's choosing."""
    wire.ws = await ws_from(wire.ws_url, source)
    await wire.ws.send(json.dumps({"t": "hello", "token": wire.token}))
    first = json.loads(await wire.ws.recv())
    if first["t"] == "welcome":
        wire.reader = asyncio.create_task(wire._read())
    return dict(first)


async def chat(alice: Wire, bob: Wire, tag: str) -> None:
    """Alice sends Bob a message; Bob gets it."""
    await alice.send({"t": "send", "id": tag, "to": bob.account, "payloads": {bob.device_id: envelope(tag)}})
    assert (await alice.next("sent"))["id"] == tag
    [item] = await bob.items(1)
    assert item["body"] == envelope(tag)


async def alive(wire: Wire) -> None:
    """The connection answers a ping."""
    await wire.send({"t": "ping", "n": 1})
    assert (await wire.next("pong"))["n"] == 1


async def closed_by_server(connections: list[Idle], count: int) -> int:
    """Wait until the server has closed ``count`` of the connections; how many it closed by then."""
    closed = 0
    for done in asyncio.as_completed([c.closed_by_server() for c in connections]):
        closed += await done
        if closed == count:
            break
    return closed


async def closed_code(wire: Wire) -> int | None:
    assert wire.reader is not None and wire.ws is not None
    async with asyncio.timeout(WITHIN):
        await wire.reader
    return wire.ws.close_code


# -- connections per address, and the hello deadline -------------------------------------------------


async def test_3000_idle_connections_from_one_address_are_capped_and_others_still_chat(
    tmp_path: Path, layer: str
) -> None:
    async with serving(tmp_path, max_connections_per_client=50, hello_timeout_s=60) as server:
        url = gateway_url(server, layer)
        before = server_sockets(url)
        idle = await open_many(url, ATTACKER, 3000)
        try:
            # The server closes every connection past the cap at once and keeps 50 open (a socket
            # the client sees closed was closed by the server first).
            assert await closed_by_server(idle, 2950) == 2950
            assert await sockets_settle(url, before + 50) == before + 50
            assert server.services.admission.open == 50
            # What the attacker sees on one more: a rate_limited error frame, then close 4008.
            frame, code = await first_frame_and_close(await ws_from(url, ATTACKER))
            assert frame["t"] == "error" and frame["code"] == "rate_limited" and frame["retry_after"] > 0
            assert code == 4008

            # Other people, from other addresses, still connect and chat both ways.
            async with httpx.AsyncClient(base_url=server.url) as http:
                alice = await register_photo(http, "alice", url)
                bob = await register_photo(http, "bob", url)
                assert (await connect_from(alice, "127.0.0.2"))["t"] == "welcome"
                assert (await connect_from(bob, "127.0.0.3"))["t"] == "welcome"
                await chat(alice, bob, "still here")
                await chat(bob, alice, "me too")
                assert (await http.get("/healthz")).status_code == 200
                metrics = (await http.get("/metrics")).text
                assert "passerelle_ws_open 52.0" in metrics  # the 50 idle ones, Alice and Bob
                assert 'passerelle_errors_total{code="rate_limited"} 2951.0' in metrics
                await alice.close()
                await bob.close()
        finally:
            for c in idle:
                c.close()


async def test_a_connection_that_never_says_hello_is_closed_at_the_deadline(
    tmp_path: Path, layer: str
) -> None:
    async with serving(tmp_path, hello_timeout_s=0.5) as server:
        url = gateway_url(server, layer)
        before = server_sockets(url)
        idle = await open_many(url, ATTACKER, 200)
        # Half of them start a hello frame and never finish it (slowloris).
        for c in idle[::2]:
            c.writer.write(bytes((0x81, 0xFE, 0x03, 0xE8)) + secrets.token_bytes(4) + b"{" * 10)
        try:
            assert all(await asyncio.gather(*(c.closed_by_server() for c in idle)))
            assert await sockets_settle(url, before) == before
            # What a silent client sees: why, then 4002.
            frame, code = await first_frame_and_close(await ws_from(url, ATTACKER))
            assert frame["t"] == "error" and frame["code"] == "bad_state" and "hello" in frame["message"]
            assert code == 4002
        finally:
            for c in idle:
                c.close()
        assert server.services.admission.open == 0


# -- connections per account --------------------------------------------------------------------------


async def test_an_account_holds_at_most_its_cap_of_connections(tmp_path: Path, layer: str) -> None:
    async with serving(tmp_path, max_connections_per_account=2) as server:
        url = gateway_url(server, layer)
        async with httpx.AsyncClient(base_url=server.url) as http:
            phone = await register_photo(http, "alice", url)
            laptop = await add_photo_device(http, "alice", "laptop", url)
            tablet = await add_photo_device(http, "alice", "tablet", url)
            bob = await register_photo(http, "bob", url)
            await phone.connect()
            await laptop.connect()
            await bob.connect()

            refused = await tablet.connect(expect_welcome=False)
            assert refused["t"] == "error" and refused["code"] == "rate_limited"
            assert await closed_code(tablet) == 4008
            await tablet.close()

            # The account's connections work on; the same device reconnecting is not "one more".
            await phone.close()
            await phone.connect()
            await alive(phone)
            await alive(laptop)
            await laptop.close()
            await tablet.connect()
            await alive(tablet)
            for wire in (phone, tablet, bob):
                await wire.close()


# -- hellos with bad tokens ---------------------------------------------------------------------------


async def test_random_token_hellos_are_limited_per_address_with_4008(tmp_path: Path, layer: str) -> None:
    async with serving(tmp_path, failed_hellos_per_window=5, failed_hello_window_s=600) as server:
        url = gateway_url(server, layer)
        codes: list[int | None] = []
        for _ in range(40):
            ws = await ws_from(url, ATTACKER)
            await ws.send(json.dumps({"t": "hello", "token": secrets.token_urlsafe(32)}))
            frame, code = await first_frame_and_close(ws)
            assert frame["t"] == "error"
            codes.append(code)
        assert codes == [4001] * 5 + [4008] * 35
        async with httpx.AsyncClient(base_url=server.url) as http:
            alice = await register_photo(http, "alice", url)
            bob = await register_photo(http, "bob", url)
            # The attacker's address is refused even with a good token, before any lookup...
            ws = await ws_from(url, ATTACKER)
            await ws.send(json.dumps({"t": "hello", "token": alice.token}))
            frame, code = await first_frame_and_close(ws)
            assert (frame["code"], code) == ("rate_limited", 4008) and frame["retry_after"] > 0
            # ...while everybody else connects and chats.
            assert (await connect_from(alice, "127.0.0.2"))["t"] == "welcome"
            assert (await connect_from(bob, "127.0.0.3"))["t"] == "welcome"
            await chat(alice, bob, "hello")
            await alice.close()
            await bob.close()


async def test_flooding_one_limit_with_distinct_keys_leaves_limits_in_force(
    tmp_path: Path, layer: str
) -> None:
    async with serving(
        tmp_path,
        rate_limit_keys=30,
        failed_hellos_per_window=2,
        failed_hello_window_s=600,
        logins_per_window=3,
    ) as server:
        url = gateway_url(server, layer)
        async with httpx.AsyncClient(base_url=server.url) as http:
            alice = await register_photo(http, "alice", url)
            bob = await register_photo(http, "bob", url)
        # Limits in force before the flood: Alice's account is out of logins (three wrong
        # passwords), so is the address that tried them, and the attacker's is out of bad hellos.
        async with client_from("127.0.0.5", server.url) as http:
            statuses = [(await add_device(http, "alice", "wrong")).status_code for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
        for _ in range(2):
            assert (await bad_hello(url, ATTACKER))[1] == 4001
        assert (await bad_hello(url, ATTACKER))[1] == 4008

        # The flood: bad hellos from 120 addresses (4 times the table), then logins to invented
        # names from 60 more.
        for n in range(120):
            assert (await bad_hello(url, f"127.0.1.{n + 1}"))[1] == 4001
        statuses = []
        for n in range(60):
            async with client_from(f"127.0.2.{n + 1}", server.url) as http:
                statuses.append((await add_device(http, f"nobody{n}", PASSWORD)).status_code)
        assert set(statuses) <= {401, 429} and statuses[0] == 401
        assert statuses[-1] == 429  # the table is full of limits in force: newcomers wait (fail safe)

        # Every limit in force still holds.
        assert (await bad_hello(url, ATTACKER))[1] == 4008
        async with client_from("127.0.2.1", server.url) as http:  # an address with logins left
            right_password = await add_device(http, "alice", PASSWORD)
            assert right_password.status_code == 429 and right_password.json()["error"]["retry_after"] > 0
        async with client_from("127.0.0.5", server.url) as http:
            assert (await add_device(http, "bob", PASSWORD)).status_code == 429
        # And people with good tokens still connect and chat.
        assert (await connect_from(alice, "127.0.0.2"))["t"] == "welcome"
        assert (await connect_from(bob, "127.0.0.3"))["t"] == "welcome"
        await chat(alice, bob, "after the flood")
        await alice.close()
        await bob.close()


@asynccontextmanager
async def client_from(source: str, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base_url, transport=transport) as http:
        yield http


async def add_device(http: httpx.AsyncClient, handle: str, password: str) -> httpx.Response:
    from tests.unit.service.fakes import TestDevice

    body = {"app": "photo", "handle": handle, "password": password, "device": TestDevice("x").keys_json()}
    return await http.post("/v1/devices", json=body)


async def bad_hello(url: str, source: str) -> tuple[dict[str, Any], int | None]:
    ws = await ws_from(url, source)
    await ws.send(json.dumps({"t": "hello", "token": secrets.token_urlsafe(32)}))
    return await first_frame_and_close(ws)


# -- token lifetime -----------------------------------------------------------------------------------


async def test_an_expired_token_closes_its_open_connection_with_4001(tmp_path: Path, layer: str) -> None:
    clock = SettableClock()
    async with serving(tmp_path, clock, token_ttl_s=3600, token_check_interval_s=0.2) as server:
        url = gateway_url(server, layer)
        async with httpx.AsyncClient(base_url=server.url) as http:
            alice = await register_photo(http, "alice", url)
            await alice.connect()
            clock.advance(3601)  # Alice's token expires; Bob's, issued now, is fresh.
            bob = await register_photo(http, "bob", url)
            await bob.connect()

            error = await alice.next("error")
            assert error["code"] == "unauthorized" and "expired" in error["message"]
            assert await closed_code(alice) == 4001
            # Bob's connection lives on.
            await alive(bob)
            # The expired token is refused at hello too.
            refused = await alice.connect(expect_welcome=False)
            assert refused["code"] == "unauthorized"
            await bob.close()


async def test_a_revocation_the_broker_lost_is_caught_when_the_node_resubscribes(
    tmp_path: Path, layer: str
) -> None:
    async with serving(tmp_path) as server:
        url = gateway_url(server, layer)
        async with httpx.AsyncClient(base_url=server.url) as http:
            alice = await register_photo(http, "alice", url)
            bob = await register_photo(http, "bob", url)
        await alice.connect()
        await bob.connect()
        # Alice's device and tokens are deleted, and the broker's close for it is lost (as when
        # Redis drops a node's subscription): her connection does not know yet.
        assert await server.services.store.remove_device(DeviceId(alice.device_id))
        await alive(alice)
        # The node resubscribes and asks for a resync of all its connections, as RedisBroker does.
        await server.services.expiry.on_broker_event(DeviceNews((), all_devices=True))

        error = await alice.next("error")
        assert error["code"] == "unauthorized" and "revoked" in error["message"]
        assert await closed_code(alice) == 4001
        await alive(bob)
        await bob.close()


async def test_behind_a_local_proxy_each_forwarded_client_has_its_own_cap(tmp_path: Path, layer: str) -> None:
    async with serving(tmp_path, max_connections_per_client=1, hello_timeout_s=60) as server:
        url = gateway_url(server, layer)

        async def via_proxy(client: str) -> ClientConnection:
            return await connect(url, additional_headers={"X-Forwarded-For": f"198.51.100.9, {client}"})

        first = await via_proxy("203.0.113.1")
        second = await via_proxy("203.0.113.2")  # another client behind the same proxy
        frame, code = await first_frame_and_close(await via_proxy("203.0.113.1"))
        assert (frame["code"], code) == ("rate_limited", 4008)
        assert server.services.admission.of_client("203.0.113.1") == 1
        assert server.services.admission.of_client("203.0.113.2") == 1
        await first.close()
        await second.close()


async def test_the_header_of_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    tmp_path: Path, layer: str
) -> None:
    settings = replace(make_settings(tmp_path), trusted_proxies="10.0.0.0/8")  # the proxy is elsewhere
    async with running_server(settings, code_sender=CodeInbox()) as server:
        url = gateway_url(server, layer)
        ws = await connect(url, additional_headers={"X-Forwarded-For": "203.0.113.1"})
        try:  # counted against the peer (this host), as the handshake was answered
            assert server.services.admission.of_client("127.0.0.1") == 1
            assert server.services.admission.of_client("203.0.113.1") == 0
        finally:
            await ws.close()


async def test_a_socket_that_never_sends_a_whole_request_head_is_dropped(tmp_path: Path, layer: str) -> None:
    async with serving(tmp_path) as server:
        url = gateway_url(server, layer)
        parts = urlsplit(url)
        before = server_sockets(url)
        opened = []
        for payload in (b"", b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"):  # silent, then slowloris
            for _ in range(20):
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(payload)
                opened.append(Idle(reader, writer))
        try:
            # Dropped within the head deadline (5 s on both gateways), before any WebSocket exists.
            assert all(await asyncio.gather(*(c.closed_by_server() for c in opened)))
            assert await sockets_settle(url, before) == before
            assert server.services.admission.open == 0
        finally:
            for c in opened:
                c.close()


async def test_a_request_body_dripped_too_slowly_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn_protocols, "BODY_WINDOW_S", 0.5)
    async with serving(tmp_path) as server:
        parts = urlsplit(server.url)
        before = server_sockets(server.url)
        head = b"POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        dripping = []
        for _ in range(20):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(head + b"Content-Length: 60000\r\n\r\n{")
            dripping.append(Idle(reader, writer))
        try:
            assert all(await asyncio.gather(*(c.closed_by_server() for c in dripping)))
            assert await sockets_settle(server.url, before) == before
            # Requests whose bodies come at once are served as ever.
            async with httpx.AsyncClient(base_url=server.url) as http:
                alice = await register_photo(http, "alice")
                assert (await http.get("/v1/me", headers=alice.auth)).status_code == 200
            # A head that goes on past 16 KB is refused (431) and its connection closed.
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(b"GET /v1/apps HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: " + b"a" * 20_000)
            try:
                answer = await asyncio.wait_for(reader.read(), 10)
            except ConnectionResetError:  # closed with the rest of the head unread: a reset may win
                answer = b"HTTP/1.1 431 "
            assert answer.startswith(b"HTTP/1.1 431 ")
            writer.close()
        finally:
            for c in dripping:
                c.close()
