"""One live WebSocket connection of an authenticated device, as the hub sees it.

Nothing that produces frames (the pipeline's commit callback, the broker) ever waits for a client:
``push`` either writes at once (transports that write synchronously, like picows, whose write buffer
is then bounded) or queues the frame for the connection's pump task (ASGI, whose sends are
awaitable; the queue is bounded in frames and in bytes). A client that overflows either bound is
closed with 1013 and resumes from its mailbox when it reconnects.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from passerelle.domain.ids import AccountId, DeviceId
from passerelle.domain.ratelimit import TokenBucket

SLOW_CONSUMER = 1013


class Transport(Protocol):
    @property
    def direct(self) -> bool:
        """True when ``write_now`` writes synchronously (no pump needed for frames)."""
        ...

    def write_now(self, data: bytes) -> None: ...

    def write_many(self, frames: list[bytes]) -> None:
        """Write several frames with as few system calls as the layer allows."""
        ...

    def buffered(self) -> int:
        """Bytes accepted by ``write_now`` and not yet handed to the kernel."""
        ...

    def is_closed(self) -> bool: ...

    async def send_text(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...


class WriteBatcher:
    """Coalesces what direct connections write during one turn of the event loop: frames pushed
    while handling a commit (``sent`` for each message, ``deliver`` for each device) leave in one
    write per connection, not one system call per frame."""

    __slots__ = ("_dirty", "_scheduled")

    def __init__(self) -> None:
        self._dirty: list[Connection] = []
        self._scheduled = False

    def schedule(self, conn: Connection) -> None:
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


class Connection:
    __slots__ = (
        "account",
        "batcher",
        "client",
        "close_code",
        "close_reason",
        "device",
        "direct",
        "expires_at",
        "live",
        "max_buffer",
        "max_frames",
        "need_sync",
        "out",
        "out_bytes",
        "pending",
        "reading",
        "send_bucket",
        "sent_upto",
        "token_hash",
        "transport",
        "wakeup",
    )

    def __init__(
        self,
        transport: Transport,
        *,
        max_frames: int,
        max_buffer: int,
        batcher: WriteBatcher,
        client: str = "unknown",
    ) -> None:
        self.transport = transport
        self.client = client
        """The peer's rate-limit key (its address; an IPv6 client's /64)."""
        self.batcher = batcher
        self.pending: list[bytes] = []
        """Frames of a direct connection waiting for the end of this loop turn."""
        self.direct = transport.direct
        self.max_frames = max_frames
        self.max_buffer = max_buffer
        self.out: deque[bytes] = deque()
        self.out_bytes = 0
        """Bytes in ``out`` (bounded by ``max_buffer``, as a direct transport's write buffer is)."""
        self.wakeup = asyncio.Event()
        self.account: AccountId | None = None
        self.device: DeviceId | None = None
        self.expires_at = 0
        """When the token given at hello expires (ms); the connection is closed then."""
        self.token_hash = ""
        """The SHA-256 of the token given at hello (to look it up again; never the token)."""
        self.sent_upto = 0
        """The highest mailbox position queued to this client."""
        self.live = False
        """Caught up with the mailbox: new commits may be pushed without reading them back."""
        self.reading = False
        self.send_bucket = TokenBucket.full(rate=0.0, burst=0.0, now=0.0)
        """Set at hello from the limits; until then nothing may be sent."""
        self.need_sync = False
        self.close_code: int | None = None
        self.close_reason = ""

    def push(self, data: bytes) -> None:
        """Write or queue one frame; never blocks. Overflow marks the connection for closing."""
        if self.close_code is not None:
            return
        if self.direct:
            if not self.pending:
                self.batcher.schedule(self)
            self.pending.append(data)
            return
        if len(self.out) >= self.max_frames or self.out_bytes > self.max_buffer:
            self.close(SLOW_CONSUMER, "too slow: reconnect to resume")
            return
        self.out.append(data)
        self.out_bytes += len(data)
        self.wakeup.set()

    def flush(self) -> None:
        """Write a direct connection's pending frames (called by the WriteBatcher)."""
        frames, self.pending = self.pending, []
        if not frames or self.transport.is_closed():
            return
        if self.transport.buffered() > self.max_buffer:
            self.close(SLOW_CONSUMER, "too slow: reconnect to resume")
            return
        if len(frames) == 1:
            self.transport.write_now(frames[0])
        else:
            self.transport.write_many(frames)

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
        """Run mailbox syncs, write queued frames and close, until closed. Owned by the gateway."""
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.need_sync and self.close_code is None:
                await sync(self)
            while self.out:
                data = self.out.popleft()
                self.out_bytes -= len(data)
                await self.transport.send_text(data)
            if self.close_code is not None:
                self.flush()
                await self.transport.close(self.close_code, self.close_reason)
                return
