"""The WebSocket transport against a tiny scripted server on loopback: hello, resend after
reconnect, keep-alive, and token renewal on 4001."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.server import Server, ServerConnection, serve

from passerelle.sdk.core.protocol import ClientCore, Connected, CoreEvent, Disconnected
from passerelle.sdk.core.transport import Backoff, Transport, websocket_url
from passerelle.sdk.errors import Unauthorized

WELCOME = {"t": "welcome", "account": "a", "device": "d", "otk_count": 50, "time": 1, "v": 1}


class FakeServer:
    """Answers hello with welcome (or closes 4001 for refused tokens), records every frame."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.refused: set[str] = set()
        self.answer_pings = True
        self.connections = 0
        self.current: ServerConnection | None = None

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.current = ws
        async for raw in ws:
            frame = json.loads(raw)
            await self.frames.put(frame)
            if frame["t"] == "login":
                await ws.send(
                    json.dumps({"t": "challenge", "challenge": "c-" + frame["device"], "expires_in": 60})
                )
            elif frame["t"] == "hello" and "signature" in frame:
                await ws.send(json.dumps({**WELCOME, "token": "new-" + frame["signature"], "expires_at": 99}))
            elif frame["t"] == "hello":
                if frame["token"] in self.refused:
                    await ws.close(4001, "unauthorized")
                    return
                await ws.send(json.dumps(WELCOME))
            elif frame["t"] == "ping" and self.answer_pings:
                await ws.send(json.dumps({"t": "pong", "n": frame.get("n", 0)}))

    async def next(self, t: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                frame = await self.frames.get()
                if frame["t"] == t:
                    return frame


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    server: Server = await serve(fake.handler, "127.0.0.1", 0)
    port = next(iter(server.sockets)).getsockname()[1]
    yield fake, f"ws://127.0.0.1:{port}/v1/ws"
    server.close()
    await server.wait_closed()


def transport_for(
    url: str, core: ClientCore, tokens: Callable[[bool], str], **kw: Any
) -> tuple[Transport, asyncio.Queue[CoreEvent]]:
    events: asyncio.Queue[CoreEvent] = asyncio.Queue()

    async def get_token(refresh: bool) -> str:
        return tokens(refresh)

    async def handle(event: CoreEvent) -> None:
        await events.put(event)

    backoff = Backoff(first_s=0.01, max_s=0.02)
    return Transport(url=url, core=core, get_token=get_token, handle=handle, backoff=backoff, **kw), events


async def next_event(events: asyncio.Queue[CoreEvent], kind: type[Any]) -> Any:
    async with asyncio.timeout(10):
        while True:
            event = await events.get()
            if isinstance(event, kind):
                return event


def test_websocket_url() -> None:
    assert websocket_url("https://chat.example/base/") == "wss://chat.example/base/v1/ws"
    assert websocket_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/v1/ws"
    with pytest.raises(ValueError, match="http"):
        websocket_url("ftp://x")


async def test_hello_welcome_and_unanswered_sends_are_written_again(fake: tuple[FakeServer, str]) -> None:
    server, url = fake
    core = ClientCore()
    core.send_message(client_id="c1", payloads={"d2": b"{}"}, to="b")  # queued while offline
    transport, events = transport_for(url, core, lambda refresh: "tok")
    task = asyncio.create_task(transport.run())
    try:
        assert (await server.next("hello"))["token"] == "tok"
        assert isinstance(await next_event(events, Connected), Connected)
        assert (await server.next("send"))["id"] == "c1"
        assert server.current is not None
        await server.current.close(1011)  # the server goes away; the send is still unanswered
        await next_event(events, Disconnected)
        await server.next("hello")
        assert (await server.next("send"))["id"] == "c1"
        assert server.connections == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_unanswered_ping_means_reconnect(fake: tuple[FakeServer, str]) -> None:
    server, url = fake
    server.answer_pings = False
    transport, events = transport_for(url, ClientCore(), lambda refresh: "tok", ping_interval_s=0.01)
    task = asyncio.create_task(transport.run())
    try:
        await server.next("ping")
        await next_event(events, Disconnected)  # the second interval finds the ping unanswered
        await server.next("hello")
        assert server.connections >= 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_refused_token_is_renewed_once_then_fatal(fake: tuple[FakeServer, str]) -> None:
    server, url = fake
    server.refused = {"old"}
    asked: list[bool] = []

    def tokens(refresh: bool) -> str:
        asked.append(refresh)
        return "new" if refresh else "old"

    transport, events = transport_for(url, ClientCore(), tokens)
    task = asyncio.create_task(transport.run())
    try:
        await next_event(events, Connected)
        assert asked == [False, True]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    server.refused = {"old", "new"}
    transport, _ = transport_for(url, ClientCore(), tokens)
    with pytest.raises(Unauthorized):
        await asyncio.wait_for(transport.run(), 10)


async def test_a_hello_refused_with_retry_after_waits_that_long_before_the_next_attempt() -> None:
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    async def handler(ws: ServerConnection) -> None:
        attempts.append(loop.time())
        async for raw in ws:
            if json.loads(raw)["t"] == "hello":
                if len(attempts) == 1:
                    refusal = {
                        "t": "error",
                        "code": "rate_limited",
                        "message": "slow down",
                        "retry_after": 0.3,
                    }
                    await ws.send(json.dumps(refusal))
                    await ws.close(4008, "rate_limited")
                    return
                await ws.send(json.dumps(WELCOME))

    server: Server = await serve(handler, "127.0.0.1", 0)
    port = next(iter(server.sockets)).getsockname()[1]
    transport, events = transport_for(f"ws://127.0.0.1:{port}/v1/ws", ClientCore(), lambda refresh: "tok")
    task = asyncio.create_task(transport.run())
    try:
        await next_event(events, Connected)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        server.close()
        await server.wait_closed()
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.3  # not the 0.01 s backoff


class CountingBackoff(Backoff):
    def __init__(self) -> None:
        super().__init__(first_s=0.01, max_s=0.02)
        self.steps = 0

    def next_delay(self) -> float:
        self.steps += 1
        return super().next_delay()


@pytest.mark.parametrize(("code", "steps"), [(1012, 0), (1011, 1)])
async def test_a_close_1012_reconnects_at_once_without_a_backoff_step(
    fake: tuple[FakeServer, str], code: int, steps: int
) -> None:
    server, url = fake
    backoff = CountingBackoff()
    events: asyncio.Queue[CoreEvent] = asyncio.Queue()

    async def get_token(refresh: bool) -> str:
        return "tok"

    transport = Transport(url=url, core=ClientCore(), get_token=get_token, handle=events.put, backoff=backoff)
    task = asyncio.create_task(transport.run())
    try:
        await server.next("hello")
        await next_event(events, Connected)
        assert server.current is not None
        await server.current.close(code, "service restart")  # the node shuts down gracefully
        await next_event(events, Disconnected)
        await server.next("hello")
        assert server.connections == 2
        assert backoff.steps == steps
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


class KeyLogin:
    """The device key's side of a login on the connection, recording what it was given."""

    device_id = "d"

    def __init__(self) -> None:
        self.adopted: list[tuple[str, int]] = []

    def sign(self, challenge: str) -> str:
        return "sig(" + challenge + ")"

    async def adopt(self, token: str, expires_at: int) -> None:
        self.adopted.append((token, expires_at))


async def test_without_a_token_the_device_logs_in_on_the_connection(fake: tuple[FakeServer, str]) -> None:
    server, url = fake
    login = KeyLogin()
    events: asyncio.Queue[CoreEvent] = asyncio.Queue()

    async def no_token(refresh: bool) -> str | None:
        return None

    transport = Transport(
        url=url, core=ClientCore(), get_token=no_token, handle=events.put, login=login, backoff=Backoff()
    )
    task = asyncio.create_task(transport.run())
    try:
        assert (await server.next("login"))["device"] == "d"
        hello = await server.next("hello")
        assert (hello["device"], hello["challenge"], hello["signature"]) == ("d", "c-d", "sig(c-d)")
        assert "token" not in hello
        connected = await next_event(events, Connected)
        assert (connected.token, connected.expires_at) == ("new-sig(c-d)", 99)
        assert login.adopted == [("new-sig(c-d)", 99)]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
