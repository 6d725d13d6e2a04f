"""Where a connection's read loop gets its next WebSocket message, whatever the WebSocket layer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

ACK_PREFIX = b'{"t":"ack",'


class FrameSource(Protocol):
    async def next(self) -> bytes | str | None:
        """The next message's payload, or None once the connection is closed."""
        ...


class QueuedFrames:
    """Fed synchronously by a callback-style WebSocket layer (picows); drained by the read loop, which
    takes every queued message without yielding in between.

    An ack (the frame every receiver sends after each delivery: a thousand per group message) may be
    handled on the spot by ``on_ack``, without waking the read loop, when nothing is queued before
    it. ``on_ack`` returns False for what it does not take, which then goes to the read loop."""

    __slots__ = ("_closed", "_items", "_ready", "on_ack")

    def __init__(self) -> None:
        self._items: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.on_ack: Callable[[bytes], bool] | None = None

    def feed(self, data: bytes) -> None:
        on_ack = self.on_ack
        if on_ack is not None and not self._items and data.startswith(ACK_PREFIX) and on_ack(data):
            return
        self._items.append(data)
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
        return self._items.popleft()
