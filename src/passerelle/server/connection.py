"""One live WebSocket connection of an authenticated device, as the hub sees it.

Frames to the client go through a bounded queue drained by the connection's pump task, so nothing
that produces frames (the pipeline's commit callback, the broker) ever waits for a slow client; a
client whose queue overflows is closed with 1013 and resumes from its mailbox when it reconnects.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from passerelle.domain.ids import AccountId, DeviceId


class Transport(Protocol):
    async def send_text(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...


SLOW_CONSUMER = 1013


class Connection:
    __slots__ = (
        "account",
        "close_code",
        "close_reason",
        "device",
        "live",
        "max_frames",
        "need_sync",
        "out",
        "reading",
        "sent_upto",
        "transport",
        "wakeup",
    )

    def __init__(self, transport: Transport, *, max_frames: int) -> None:
        self.transport = transport
        self.max_frames = max_frames
        self.out: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.account: AccountId | None = None
        self.device: DeviceId | None = None
        self.sent_upto = 0
        """The highest mailbox position queued to this client."""
        self.live = False
        """Caught up with the mailbox: new commits may be pushed without reading them back."""
        self.reading = False
        self.need_sync = False
        self.close_code: int | None = None
        self.close_reason = ""

    def push(self, data: bytes) -> None:
        """Queue one frame; never blocks. Overflow marks the connection for closing."""
        if self.close_code is not None:
            return
        if len(self.out) >= self.max_frames:
            self.close(SLOW_CONSUMER, "too slow: reconnect to resume")
            return
        self.out.append(data)
        self.wakeup.set()

    def request_sync(self) -> None:
        self.need_sync = True
        self.wakeup.set()

    def close(self, code: int, reason: str = "") -> None:
        """Close after the frames already queued are written."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.wakeup.set()

    async def pump(self, sync: Callable[[Connection], Awaitable[None]]) -> None:
        """Write queued frames and run mailbox syncs until the connection closes. Owned by the gateway."""
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.need_sync and self.close_code is None:
                await sync(self)
            while self.out:
                await self.transport.send_text(self.out.popleft())
            if self.close_code is not None:
                await self.transport.close(self.close_code, self.close_reason)
                return
