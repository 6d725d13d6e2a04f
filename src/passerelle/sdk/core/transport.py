"""The WebSocket half of the transport: connect, say hello, read frames, keep alive, reconnect.

Rules
1. All protocol decisions are ClientCore's; this module only moves bytes and waits. Every frame
   read goes to ``core.receive`` and every resulting event to the ``handle`` callback, in order;
   the next frame is read only after ``handle`` returns (so acks follow the store).
2. After a ``welcome`` the core's pending frames (unanswered sends, queued receipts) are written.
   A device that has no token worth presenting (``get_token`` gives None) logs in on the
   connection with ``login``: it writes ``login``, signs the challenge that answers it, writes
   the signed ``hello``, and hands the token ``welcome`` brings to ``login.adopt`` before the
   ``Connected`` event goes on (docs/protocol.md section 4.5). ``ChallengeIssued`` stays here.
3. A lost connection is retried with exponential backoff and jitter (0.5 s doubling to 30 s),
   reset by each ``welcome``. A refused token (close 4001, or an ``unauthorized`` answer to hello)
   is renewed once through ``get_token(refresh=True)``; refused again, the device is gone and
   ``run`` raises ``Unauthorized``. ``unsupported_version`` is fatal too. A hello refused with a
   ``retry_after`` (too many connections or attempts: close 4008) waits at least that long.
   A close 1012 (the node is restarting or shutting down) reconnects at once, after a jitter of
   at most the first backoff step, with the backoff reset: another node, or this one restarted,
   takes the device.
4. A failure to handle a frame because the server or network is unavailable (fetching keys)
   closes the connection: nothing after it is acked, so the items come again after reconnecting.
5. Keep-alive: a ``ping`` frame every ``ping_interval_s``; when the previous one is unanswered the
   connection is closed and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from passerelle.sdk.core.protocol import ChallengeIssued, ClientCore, Connected, CoreEvent, Rejected
from passerelle.sdk.errors import (
    ProtocolViolation,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnsupportedVersion,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4001
CLOSE_RESTART = 1012
MAX_RETRY_AFTER_S = 3600.0
"""The longest wait a server's ``retry_after`` can impose between two connection attempts."""
MAX_FRAME = 2 * 1024 * 1024


def websocket_url(server_url: str) -> str:
    """``https://host/base`` -> ``wss://host/base/v1/ws``."""
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"not an http(s) URL: {server_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/v1/ws", "", ""))


class Backoff:
    def __init__(self, *, first_s: float = 0.5, max_s: float = 30.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next = first_s

    def reset(self) -> None:
        self._next = self.first_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.max_s, self._next * 2)
        return delay * random.uniform(0.5, 1.0)


class WsLogin(Protocol):
    """A device's key, to log in on the connection (``sdk.core.credentials.Credentials``)."""

    @property
    def device_id(self) -> str: ...

    def sign(self, challenge: str) -> str:
        """The device's login signature over ``challenge``."""
        ...

    async def adopt(self, token: str, expires_at: int) -> None:
        """Keep the token a login on the connection brought."""
        ...


class Transport:
    """One device's WebSocket connection, kept open until ``run`` is cancelled."""

    def __init__(
        self,
        *,
        url: str,
        core: ClientCore,
        get_token: Callable[[bool], Awaitable[str | None]],
        handle: Callable[[CoreEvent], Awaitable[None]],
        ping_interval_s: float = 20.0,
        backoff: Backoff | None = None,
        login: WsLogin | None = None,
    ) -> None:
        self._login = login
        self._url = url
        self._core = core
        self._get_token = get_token
        self._handle = handle
        self._ping_interval = ping_interval_s
        self._backoff = backoff or Backoff()
        self._ws: ClientConnection | None = None

    async def write(self, data: bytes | None) -> bool:
        """Write one frame if connected; False when it could not be written (the core keeps what
        must survive a reconnect)."""
        ws = self._ws
        if data is None or ws is None:
            return False
        try:
            await ws.send(data.decode())
        except ConnectionClosed:
            return False
        return True

    async def run(self) -> None:
        refreshed = False
        while True:
            try:
                token = await self._get_token(refreshed)
            except (Unavailable, RateLimited) as exc:
                wait = exc.retry_after if isinstance(exc, RateLimited) else 0.0
                logger.info("cannot log in now (%s); retrying", exc.code)
                await asyncio.sleep(max(wait, self._backoff.next_delay()))
                continue
            unauthorized, retry_after = await self._connect_once(token)
            if unauthorized:
                if refreshed:
                    raise Unauthorized(
                        "the server refused this device's credentials; it may have been removed"
                    )
                refreshed = True
                continue
            refreshed = False
            if retry_after < 0:  # closed with 1012: reconnect now, spread over a short jitter
                logger.info("the server is restarting (close 1012); reconnecting now")
                self._backoff.reset()
                await asyncio.sleep(random.uniform(0.0, self._backoff.first_s))
                continue
            await asyncio.sleep(max(retry_after, self._backoff.next_delay()))

    async def _connect_once(self, token: str | None) -> tuple[bool, float]:
        """One connection, from opening to closing. Returns whether the token was refused, and how
        long the server asked to wait before the next attempt (-1: closed with 1012, at once)."""
        rejected: Rejected | None = None
        try:
            async with connect(
                self._url,
                max_size=MAX_FRAME,
                ping_interval=None,
                compression=None,
                open_timeout=10,
                proxy=None,
            ) as ws:
                self._ws = ws
                if token is not None:
                    first = self._core.connection_made(token)
                elif self._login is not None:
                    first = self._core.connection_made_login(self._login.device_id)
                else:
                    raise ValueError("no token, and no key to log in on the connection with")
                await ws.send(first.decode())
                pinger = asyncio.create_task(self._keepalive(ws))
                try:
                    rejected = await self._read(ws)
                finally:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pinger
            code = ws.close_code
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            if isinstance(exc, InvalidURI):
                raise
            logger.info("cannot connect to the server (%s); retrying", type(exc).__name__)
            code = None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
        finally:
            self._ws = None
            await self._handle(self._core.connection_lost())
        if rejected is not None:
            if rejected.code == "unsupported_version":
                raise UnsupportedVersion(rejected.message)
            return rejected.code == "unauthorized", min(rejected.retry_after or 0.0, MAX_RETRY_AFTER_S)
        return code == CLOSE_UNAUTHORIZED, -1.0 if code == CLOSE_RESTART else 0.0

    async def _read(self, ws: ClientConnection) -> Rejected | None:
        try:
            async for message in ws:
                try:
                    events = self._core.receive(message)
                except ProtocolViolation as exc:
                    logger.warning("the server broke the protocol (%s); reconnecting", exc.message[:200])
                    await ws.close(1002)
                    return None
                for event in events:
                    if isinstance(event, ChallengeIssued):
                        await self._signed_hello(ws, event.challenge)
                        continue
                    if isinstance(event, Connected) and event.token and self._login is not None:
                        await self._login.adopt(event.token, event.expires_at or 0)
                    try:
                        await self._handle(event)
                    except Unavailable as exc:
                        # Nothing past the failure is acked: reconnect and get it again.
                        logger.warning("cannot handle a frame now (%s); reconnecting", exc.message[:200])
                        await ws.close(1001)
                        return None
                    if isinstance(event, Connected):
                        self._backoff.reset()
                        for frame in self._core.pending_frames():
                            await ws.send(frame.decode())
                    elif isinstance(event, Rejected):
                        return event
        except ConnectionClosed:
            pass
        return None

    async def _signed_hello(self, ws: ClientConnection, challenge: str) -> None:
        login = self._login
        assert login is not None  # the session takes a challenge only after our login
        signature = login.sign(challenge)
        hello = self._core.signed_hello(device_id=login.device_id, challenge=challenge, signature=signature)
        await ws.send(hello.decode())

    async def _keepalive(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            if not self._core.connected:
                continue
            frame = self._core.ping()
            if frame is None:
                logger.info("the server stopped answering pings; reconnecting")
                await ws.close(1001)
                return
            try:
                await ws.send(frame.decode())
            except ConnectionClosed:
                return
