"""Where a connection's read loop gets its next WebSocket message, whatever the WebSocket layer."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol


class FrameSource(Protocol):
    async def next(self) -> bytes | str | None:
        """The next message's payload, or None once the connection is closed."""
        ...


class QueuedFrames:
    """Fed synchronously by a callback-style WebSocket layer (picows); drained by the read loop, which
    takes every queued message without yielding in between."""

    __slots__ = ("_closed", "_items", "_ready")

    def __init__(self) -> None:
        self._items: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def feed(self, data: bytes) -> None:
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
