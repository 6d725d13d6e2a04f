"""Where a connection's read loop gets its next WebSocket message, whatever the WebSocket layer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from passerelle.proto.session import ACK_PREFIX


class FrameSource(Protocol):
    async def next(self) -> bytes | str | None:
        """The next message's payload, or None once the connection is closed."""
        ...


class ReadFlow(Protocol):
    """Stops and restarts reading from the socket (an asyncio transport does both)."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class QueuedFrames:
    """Fed synchronously by a callback-style WebSocket layer (picows); drained by the read loop, which
    takes every queued message without yielding in between.

    Bounded: once more than ``max_bytes`` of messages wait, reading from the socket stops (``flow``)
    until the read loop has taken them down to half that. A client that sends faster than the server
    handles its frames then meets TCP backpressure: its own writes block, and the server's memory
    for it stays at ``max_bytes`` plus what one read from the socket holds.

    An ack (the frame every receiver sends after each delivery: a thousand per group message) may be
    handled on the spot by ``on_ack``, without waking the read loop, when nothing is queued before
    it. ``on_ack`` returns False for what it does not take, which then goes to the read loop."""

    __slots__ = ("_bytes", "_closed", "_items", "_paused", "_ready", "flow", "max_bytes", "on_ack")

    def __init__(self, *, max_bytes: int = 1 << 20, flow: ReadFlow | None = None) -> None:
        self._items: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self._bytes = 0
        self._paused = False
        self.max_bytes = max_bytes
        self.flow = flow
        self.on_ack: Callable[[bytes], bool] | None = None

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def paused(self) -> bool:
        return self._paused

    def feed(self, data: bytes) -> None:
        on_ack = self.on_ack
        if on_ack is not None and not self._items and data.startswith(ACK_PREFIX) and on_ack(data):
            return
        self._items.append(data)
        self._bytes += len(data)
        if self._bytes > self.max_bytes and not self._paused and self.flow is not None:
            self._paused = True
            self.flow.pause_reading()
        self._ready.set()

    def feed_eof(self) -> None:
        self._closed = True
        self._ready.set()

    async def next(self) -> bytes | None:
        while not self._items:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        data = self._items.popleft()
        self._bytes -= len(data)
        if self._paused and self._bytes <= self.max_bytes // 2:
            self._paused = False
            if self.flow is not None and not self._closed:
                self.flow.resume_reading()
        return data
