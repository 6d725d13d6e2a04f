"""One live WebSocket connection of an authenticated device, as the hub sees it.

Nothing that produces frames (the pipeline's commit callback, the broker) ever waits for a client:
``push`` either writes at once (transports that write synchronously, like picows, whose write buffer
is then bounded) or queues the frame for the connection's pump task (ASGI, whose sends are
awaitable; the queue is bounded in frames and in bytes). A client that overflows either bound is
closed with 1013 and resumes from its mailbox when it reconnects.

A direct connection has no pump: it closes at once (after its pending frames), and reads its mailbox
in a task started when a read is asked for and ended when it is caught up (``request_sync``). An
idle connection thus holds no task of its own here, nor a queue or an event: what 20 000 idle
connections cost is mostly theirs (benchmarks/README.md, scenario e).

The connection owns its delivery cursor: the highest mailbox position queued to its client, and
whether it is caught up with its mailbox ("live") or reading it. The hub only routes: it hands a
connection the items a commit made for its device (``offer``, ``offer_one``) or what a read of the
mailbox returned (``push_items``); the connection pushes those it has not had, in position order,
and moves its cursor. A connection that is still reading its mailbox is told to read again instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, cast

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.domain.ratelimit import TokenBucket
from passerelle.proto.codec import deliver_frames, deliver_one, encode, item_at
from passerelle.proto.frames import MAX_DELIVER_ITEMS, Deliver
from passerelle.server.ws.deliver import to_item
from passerelle.service.records import MailboxItem

log = logging.getLogger("passerelle.gateway")
SLOW_CONSUMER = 1013
INTERNAL_ERROR = 1011

STALL_S = 30.0
"""A connection reading its mailbox backlog that takes nothing for this long is closed with 1013."""
SYNC_RETRY_FIRST_S = 0.1
SYNC_RETRY_MAX_S = 2.0
"""A mailbox read the database refused (it is down) is tried again after this, doubling to the max."""

Entry = MailboxItem | tuple[int, bytes]
"""A committed item for one device: its record, or (position, ``item_tail``) for a group item whose
JSON after the position was encoded once for all its devices."""


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

    def close_now(self, code: int, reason: str = "") -> None:
        """Close at once (a direct transport: what was written before is sent first)."""
        ...


Sync = Callable[["Connection"], Awaitable[None]]
"""Reads a connection's mailbox after its cursor until caught up (``Hub.sync``)."""

_NO_QUEUE: deque[bytes] = deque(maxlen=0)
"""The outbound queue of every direct connection: never used (they write at once)."""


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
        "_live",
        "_need_sync",
        "_reading",
        "_sent_upto",
        "_sync_retry_s",
        "account",
        "batcher",
        "client",
        "close_code",
        "close_reason",
        "device",
        "direct",
        "expires_at",
        "max_buffer",
        "max_frames",
        "out",
        "out_bytes",
        "pending",
        "send_bucket",
        "sync",
        "syncing",
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
        sync: Sync | None = None,
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
        self.out: deque[bytes] = _NO_QUEUE if self.direct else deque()
        self.out_bytes = 0
        """Bytes in ``out`` (bounded by ``max_buffer``, as a direct transport's write buffer is)."""
        self.wakeup: asyncio.Event | None = None if self.direct else asyncio.Event()
        """Wakes the pump (connections that are not direct)."""
        self.sync = sync
        """How a direct connection reads its mailbox (in ``syncing``); the pump's, otherwise."""
        self.syncing: asyncio.Task[None] | None = None
        """A direct connection's mailbox read, while one runs."""
        self.account: AccountId | None = None
        self.device: DeviceId | None = None
        self.expires_at = 0
        """When the token given at hello expires (ms); the connection is closed then."""
        self.token_hash = ""
        """The SHA-256 of the token given at hello (to look it up again; never the token)."""
        self._sent_upto = 0
        """The highest mailbox position queued to this client."""
        self._live = False
        """Caught up with the mailbox: new commits may be pushed without reading them back."""
        self._reading = False
        """The pump is reading the mailbox: new commits wait for the next read."""
        self._need_sync = False
        self._sync_retry_s = SYNC_RETRY_FIRST_S
        self.send_bucket = TokenBucket.full(rate=0.0, burst=0.0, now=0.0)
        """Set at hello from the limits; until then nothing may be sent."""
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
        assert self.wakeup is not None
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

    # --- the delivery cursor ------------------------------------------------------------------------

    @property
    def sent_upto(self) -> int:
        """The highest mailbox position queued to this client."""
        return self._sent_upto

    @property
    def need_sync(self) -> bool:
        """The mailbox must be read (again) before this connection is caught up."""
        return self._need_sync

    def start_after(self, pos: int) -> None:
        """Count the positions up to ``pos`` as sent (at hello: an ack the device sent on its previous
        connection may still wait for its commit, and reading from before it would deliver those
        items a second time)."""
        if pos > self._sent_upto:
            self._sent_upto = pos

    def ack_bound(self, upto: int) -> int:
        """What of an ack up to ``upto`` this connection may take: nothing past what was queued to it."""
        return upto if upto < self._sent_upto else self._sent_upto

    def offer_one(self, pos: int, tail: bytes) -> int:
        """A committed item at ``pos`` whose JSON after the position is ``tail`` (a group item,
        encoded once for all its devices). Pushed in a frame of its own when this connection is
        caught up and has not had it: 1, else 0 (and a connection still reading reads again)."""
        if self._live and not self._reading:
            if pos <= self._sent_upto:
                return 0
            self._sent_upto = pos
            if self.pending or not self.direct or self.close_code is not None:
                self.push(deliver_one(pos, tail))
                return 1
            # Nothing waits for this connection in this loop turn: written now, as ``flush`` would at
            # the turn's end, without a list, a batcher entry and three calls per device (a group
            # message to a thousand devices: benchmarks/README.md, scenario d).
            transport = self.transport
            if transport.is_closed():
                return 1
            if transport.buffered() > self.max_buffer:
                self.close(SLOW_CONSUMER, "too slow: reconnect to resume")
                return 1
            transport.write_now(deliver_one(pos, tail))
            return 1
        self.request_sync()
        return 0

    def offer(self, entries: list[Entry], max_frame: int) -> int:
        """One commit's items for this device, in position order. Pushed when this connection is
        caught up, those it has not had, in frames of at most ``max_frame`` bytes (unless one item
        alone is larger); how many. A connection still reading its mailbox reads again instead."""
        if not self._live or self._reading:
            self.request_sync()
            return 0
        first = entries[0]
        if len(entries) == 1 and isinstance(first, tuple):
            return self.offer_one(*first)  # the group fast path: one frame, constant parts but the position
        if not any(isinstance(e, tuple) for e in entries):
            return self.push_items(cast(list[MailboxItem], entries), max_frame)
        parts: list[bytes] = []
        last = self._sent_upto
        for e in entries:
            if isinstance(e, tuple):
                if e[0] > last:
                    parts.append(item_at(e[0], e[1]))
                    last = e[0]
            elif e.pos > last:
                parts.append(encode(to_item(e, e.pos)))
                last = e.pos
        for frame in deliver_frames(parts, max_bytes=max_frame):
            self.push(frame)
        self._sent_upto = last
        return len(parts)

    def push_items(self, items: Sequence[MailboxItem], max_frame: int) -> int:
        """Push the items (in position order) that this connection has not had, in frames of at most
        MAX_DELIVER_ITEMS items and ``max_frame`` bytes (unless one item alone is larger); how many."""
        fresh = [to_item(i, i.pos) for i in items if i.pos > self._sent_upto]
        for start in range(0, len(fresh), MAX_DELIVER_ITEMS):
            batch = fresh[start : start + MAX_DELIVER_ITEMS]
            frame = encode(Deliver(items=batch))
            if len(frame) <= max_frame:
                self.push(frame)
            else:
                for part in deliver_frames([encode(item) for item in batch], max_bytes=max_frame):
                    self.push(part)
        if fresh:
            self._sent_upto = fresh[-1].pos
        return len(fresh)

    def request_sync(self) -> None:
        """Have the mailbox read after the cursor (new items wait there): by the pump, or by a task of
        a direct connection's own, started now unless one runs (it reads again before it ends)."""
        self._need_sync = True
        if self.wakeup is not None:
            self.wakeup.set()
        elif self.syncing is None and self.sync is not None and self.close_code is None:
            self.syncing = asyncio.get_running_loop().create_task(self._sync_direct(self.sync))

    async def _sync_direct(self, sync: Sync) -> None:
        try:
            while self._need_sync and self.close_code is None:
                await sync(self)
        except Exception:
            # The pump's failure ends its connection the same way: the client reconnects and resumes.
            log.exception("reading the mailbox of device %s failed", self.device)
            self.close(INTERNAL_ERROR, "internal error")
        finally:
            self.syncing = None

    def begin_read(self) -> None:
        """A read of the mailbox starts: commits are no longer pushed but wait for the next read."""
        self._reading = True

    def next_read(self) -> int:
        """Where the next read of the mailbox starts (after this position); clears the request."""
        self._need_sync = False
        return self._sent_upto

    def read_through(self, pos: int) -> None:
        """The mailbox was read up to ``pos`` (items not pushed from it were dropped)."""
        if pos > self._sent_upto:
            self._sent_upto = pos

    def end_read(self, *, caught_up: bool) -> None:
        """A read of the mailbox ends; once caught up, commits are pushed without reading them back."""
        if caught_up:
            self._live = True
        self._reading = False

    async def make_room(self) -> None:
        """Between two parts of a mailbox read (run by the pump): let what was pushed reach the
        client before pushing more, so that a backlog of any size goes out at the client's pace
        instead of overflowing the bounds (which would close the connection every time it came
        back: a device with more waiting than ``max_buffer`` could never catch up). Returns once
        at most half the bound waits; a client that takes nothing for ``STALL_S`` is closed."""
        if self.direct:
            if self.pending:
                await asyncio.sleep(0)  # the batcher writes them at the end of this loop turn
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STALL_S
            while self.close_code is None and not self.transport.is_closed():
                if self.transport.buffered() <= self.max_buffer // 2:
                    return
                if loop.time() > deadline:
                    self.close(SLOW_CONSUMER, "too slow: reconnect to resume")
                    return
                await asyncio.sleep(0.01)
            return
        while self.out and self.close_code is None:
            data = self.out.popleft()
            self.out_bytes -= len(data)
            await self.transport.send_text(data)

    def close(self, code: int, reason: str = "") -> None:
        """Close after the frames already queued are written."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        if self.wakeup is not None:
            self.wakeup.set()
            return
        if not self.transport.is_closed():
            self.flush()
            self.transport.close_now(self.close_code, self.close_reason)

    async def pump(self, sync: Sync) -> None:
        """Run mailbox syncs, write queued frames and close, until closed: the task of a connection
        that is not direct, owned by the gateway."""
        wakeup = self.wakeup
        assert wakeup is not None
        while True:
            await wakeup.wait()
            wakeup.clear()
            if self._need_sync and self.close_code is None:
                try:
                    await sync(self)
                    self._sync_retry_s = SYNC_RETRY_FIRST_S
                except Unavailable:
                    # The mailbox cannot be read now (its database is down): read it again shortly,
                    # and go on writing what is queued (pongs, answers). A pump that ended here
                    # would leave a connection that answers nothing until the client gives up on it.
                    asyncio.get_running_loop().call_later(self._sync_retry_s, self.request_sync)
                    self._sync_retry_s = min(self._sync_retry_s * 2, SYNC_RETRY_MAX_S)
            while self.out:
                data = self.out.popleft()
                self.out_bytes -= len(data)
                await self.transport.send_text(data)
            if self.close_code is not None:
                self.flush()
                await self.transport.close(self.close_code, self.close_reason)
                return
