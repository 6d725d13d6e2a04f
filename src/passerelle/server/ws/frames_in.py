"""Where a connection's read loop gets its next WebSocket message, whatever the WebSocket layer."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from passerelle.proto.session import ACK_PREFIX


class Deferred:
    """What a WebSocket callback left for the read loop to finish with a message it began to handle
    (``QueuedFrames.taker``): the read loop gets it in the message's place."""

    __slots__ = ()


class Taker(Protocol):
    """Handles a connection's messages in the WebSocket callback (``QueuedFrames.taker``)."""

    def take_ack(self, data: bytes) -> bool:
        """Handle an ack now (True), or leave it to the read loop (False)."""
        ...

    def take(self, data: bytes) -> bytes | Deferred | None:
        """Handle a message now: None when done, else what the read loop gets in its place."""
        ...

    def resume(self) -> None:
        """Start a task that drains the queue (``QueuedFrames.take_nowait``), for a connection whose
        read loop ended while it was idle (``QueuedFrames.detach``)."""
        ...


class Idle:
    """``QueuedFrames.take_nowait``: nothing is queued (the connection goes on)."""

    __slots__ = ()


IDLE = Idle()


class FrameSource(Protocol):
    async def next(self) -> bytes | str | Deferred | None:
        """The next message's payload (or what is left to do with it), or None once closed."""
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
    handled on the spot by ``taker.take_ack``, without waking the read loop, when nothing is queued
    before it; it returns False for what it does not take, which then goes to the read loop.

    Any other message may be handled on the spot by ``taker.take`` when the read loop is idle
    (waiting in ``next``, nothing queued), so that nothing it handles could be overtaken: ``take``
    returns None for what it handled, else what the read loop is to get instead of the message (the
    message itself, or what is left to do with it, which ``next`` returns as it is).

    Lean while idle (20 000 idle connections each hold one): the queue exists only while messages
    wait, and the read loop waits on a bare future, not an ``asyncio.Event`` and its deque. Once
    detached (``detach``), no read loop waits at all: what cannot be taken on the spot, and the end of the
    connection, make ``taker.resume`` start a task that drains the queue with ``take_nowait`` and
    ends when it is empty (an idle connection holds no task: ~2 KB each, scenario e)."""

    __slots__ = (
        "_bytes",
        "_closed",
        "_detached",
        "_draining",
        "_items",
        "_paused",
        "_waiter",
        "flow",
        "max_bytes",
        "taker",
    )

    def __init__(self, *, max_bytes: int = 1 << 20, flow: ReadFlow | None = None) -> None:
        self._items: deque[bytes | Deferred] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._detached = False
        """No read loop calls ``next``: ``taker.resume`` starts a drain when there is work."""
        self._draining = False
        """A drain started by ``taker.resume`` runs (until ``take_nowait`` finds nothing queued)."""
        self._bytes = 0
        self._paused = False
        self.max_bytes = max_bytes
        self.flow = flow
        self.taker: Taker | None = None

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def ended(self) -> bool:
        """Closed with nothing left queued: all a reader would get is the end."""
        return self._closed and self._items is None

    def feed(self, data: bytes) -> None:
        items = self._items
        rest: bytes | Deferred = data
        if items is None:
            taker = self.taker
            if taker is not None:
                if data.startswith(ACK_PREFIX):
                    if taker.take_ack(data):
                        return
                elif self._idle():
                    left = taker.take(data)
                    if left is None:
                        return
                    rest = left
            items = self._items = deque()
        items.append(rest)
        if type(rest) is bytes:
            self._bytes += len(data)
        else:
            self._wake()
            return
        if self._bytes > self.max_bytes and not self._paused and self.flow is not None:
            self._paused = True
            self.flow.pause_reading()
        self._wake()

    def feed_eof(self) -> None:
        self._closed = True
        self._wake()

    def detach(self) -> None:
        """The read loop ends here and no longer calls ``next``: from now on ``taker`` (set) is told
        to ``resume`` when a message is queued or the connection ends, now if one already is."""
        self._detached = True
        if self._items is not None or self._closed:
            self._wake()

    def _idle(self) -> bool:
        """Nothing reads the queue now: the read loop waits in ``next``, or there is none (detached)
        and no drain runs."""
        if self._detached:
            return not self._draining
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _wake(self) -> None:
        if self._detached:
            if not self._draining and self.taker is not None:
                self._draining = True
                self.taker.resume()
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> bytes | Deferred | None:
        while self._items is None:
            if self._closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._pop(self._items)

    def take_nowait(self) -> bytes | Deferred | Idle | None:
        """The drain's ``next``: the next message, None once closed, or ``IDLE`` when nothing is
        queued, which ends the drain (the next message or the end starts another)."""
        items = self._items
        if items is None:
            if self._closed:
                return None
            self._draining = False
            return IDLE
        return self._pop(items)

    def _pop(self, items: deque[bytes | Deferred]) -> bytes | Deferred:
        data = items.popleft()
        if not items:
            self._items = None
        if type(data) is not bytes:
            return data  # a Deferred
        self._bytes -= len(data)
        if self._paused and self._bytes <= self.max_bytes // 2:
            self._paused = False
            if self.flow is not None and not self._closed:
                self.flow.resume_reading()
        return data
