"""This node's live connections, and how mailbox items reach them. The hub only routes: each
connection owns its delivery cursor and pushes what it has not had (passerelle.server.ws.connection).

Two ways in, one rule (a device's items are queued in position order, each once):
- Single node (in-process broker): after each commit the pipeline calls ``on_committed`` in commit
  order; items for a connection that is caught up ("live") are pushed at once without reading them
  back. A connection that is still syncing is told to read again instead.
- Several nodes (Redis broker): the pipeline's commits become pokes ("device D has news"), and every
  node reads the mailboxes of its own connections from the database after its last queued position.

One connection per device: a device that says ``hello`` again replaces its older connection (closed
with 4000), on this node at once and, with several nodes, on the others through a ``Connected``
event published with the pokes (the older of two connections is closed, by their ``hello`` times).

Nothing stored may stop a device's delivery: a ``deliver`` frame stays within the frame limit, and an
item read back from the database whose body could not be delivered (not UTF-8 JSON: a row older than
the checks at the edge) is dropped and the device told with an ``undeliverable`` error, instead of
breaking the frame that carries it on every reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence

from passerelle.domain.ids import AccountId, DeviceId, MailboxPos
from passerelle.proto.codec import encode
from passerelle.proto.frames import MAX_DELIVER_ITEMS, Error
from passerelle.proto.payloads import body_problem
from passerelle.server.metrics import Metrics
from passerelle.server.ws.connection import Connection, Entry
from passerelle.server.ws.deliver import shared_tail
from passerelle.service.ports import (
    Broker,
    BrokerEvent,
    Connected,
    DeviceNews,
    Ephemeral,
    Invalidate,
    Mailbox,
)
from passerelle.service.records import AppendResult, MailboxItem, SharedItems

log = logging.getLogger("passerelle.hub")
BATCH = MAX_DELIVER_ITEMS
"""Mailbox items read at once: one frame's worth."""
REPLACED = 4000
FLUSH_TIMEOUT_S = 2.0
"""How long a stopping node may spend publishing its last pokes."""


class Hub:
    def __init__(
        self,
        *,
        mailbox: Mailbox,
        broker: Broker,
        invalidate: Callable[[Invalidate], None],
        metrics: Metrics,
        on_presence: Callable[[AccountId], None] | None = None,
        max_frame_bytes: int = 1 << 20,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._mailbox = mailbox
        self.node = secrets.token_hex(8)
        """This node's name in the ``Connected`` events it publishes (it ignores its own)."""
        self._now_ms = now_ms
        self._since: dict[DeviceId, int] = {}
        """When each connection of ``connections`` said hello (wall clock, ms)."""
        self._connected: dict[DeviceId, int] = {}
        """Hellos not yet published to the other nodes."""
        self._max_frame = max_frame_bytes
        """No ``deliver`` frame is larger (unless one item alone is): what clients must accept."""
        self._broker = broker
        self._invalidate = invalidate
        """Drops what the send path cached (``SendCaches.invalidate``) when another node changed it."""
        self._metrics = metrics
        self.connections: dict[DeviceId, Connection] = {}
        self._pokes: set[DeviceId] = set()
        self._poke_ready = asyncio.Event()
        self.on_presence = on_presence
        """Told of each connect and disconnect (last seen, passerelle.service.privacy.presence)."""

    # --- connections -----------------------------------------------------------------------------

    def register(self, conn: Connection) -> None:
        assert conn.device is not None
        old = self.connections.get(conn.device)
        if old is not None and old is not conn:
            old.close(REPLACED, "this device connected again elsewhere")
        self.connections[conn.device] = conn
        self._since[conn.device] = at = self._now_ms()
        if not self._broker.is_local:
            self._connected[conn.device] = at
            self._poke_ready.set()
        self._metrics.connections.inc()
        conn.request_sync()
        if self.on_presence is not None and conn.account is not None:
            self.on_presence(conn.account)

    def unregister(self, conn: Connection) -> None:
        if conn.device is not None and self.connections.get(conn.device) is conn:
            del self.connections[conn.device]
            self._since.pop(conn.device, None)
            self._metrics.connections.dec()
            if self.on_presence is not None and conn.account is not None:
                self.on_presence(conn.account)

    # --- delivery --------------------------------------------------------------------------------

    def on_committed(self, results: Sequence[AppendResult]) -> None:
        """Called by the pipeline after each commit, in commit order."""
        if not self._broker.is_local:
            for result in results:
                self._pokes.update(item.device for item in result.items)
                if result.shared is not None:
                    self._pokes.update(result.shared.devices)
            if self._pokes:
                self._poke_ready.set()
            return
        if len(results) == 1 and not results[0].items and results[0].shared is not None:
            pushed = self._fan_out(results[0].shared)  # a group message committed alone: the common case
            if pushed:
                self._metrics.delivered += pushed
            return
        # Each device's entries in position order: a MailboxItem, or (pos, tail) for a group item
        # whose JSON after the position was encoded once for all its devices.
        per_device: dict[DeviceId, list[Entry]] = {}
        connections = self.connections
        for result in results:
            for item in result.items:
                if item.device in connections:
                    per_device.setdefault(item.device, []).append(item)
            shared = result.shared
            if shared is not None:
                tail = b""
                for device, pos in zip(shared.devices, shared.positions, strict=True):
                    if device in connections:
                        tail = tail or shared_tail(shared)
                        entries = per_device.get(device)
                        if entries is None:
                            per_device[device] = [(pos, tail)]
                        else:
                            entries.append((pos, tail))
        pushed = 0
        max_frame = self._max_frame
        for device, entries in per_device.items():
            pushed += connections[device].offer(entries, max_frame)
        if pushed:
            self._metrics.delivered += pushed

    def _fan_out(self, shared: SharedItems) -> int:
        """Offer one group message to its connected devices: its item encoded once but for the position."""
        connections = self.connections
        tail = b""
        pushed = 0
        for device, pos in zip(shared.devices, shared.positions, strict=True):
            conn = connections.get(device)
            if conn is not None:
                tail = tail or shared_tail(shared)
                pushed += conn.offer_one(pos, tail)
        return pushed

    async def _deliverable(self, conn: Connection, items: list[MailboxItem]) -> list[MailboxItem]:
        """The items that can be delivered; the others are dropped from the mailbox, and the device
        is told of each with an ``undeliverable`` error."""
        good: list[MailboxItem] = []
        bad: list[MailboxPos] = []
        for item in items:
            problem = body_problem(item.body)
            if problem is None:
                good.append(item)
                continue
            bad.append(item.pos)
            log.warning(
                "dropped undeliverable mailbox item %d of device %s: %s", item.pos, item.device, problem
            )
            self._metrics.errors.labels("undeliverable").inc()
            message = (
                f"mailbox item {item.pos} (message {item.message_id} from {item.sender} in {item.conv}) "
                f"could not be delivered ({problem}) and was dropped"
            )
            conn.push(encode(Error(code="undeliverable", message=message)))
        if bad:
            assert conn.device is not None
            await self._mailbox.drop(conn.device, bad)
        return good

    async def sync(self, conn: Connection) -> None:
        """Read the device's mailbox after what was queued, until caught up. Runs in the pump task."""
        assert conn.device is not None
        conn.begin_read()
        caught_up = False
        try:
            while True:
                after = MailboxPos(conn.next_read())
                items = await self._mailbox.fetch(conn.device, after=after, limit=BATCH)
                fetched = len(items)
                if items:
                    last = items[-1].pos
                    items = await self._deliverable(conn, items)
                    # In parts of at most a quarter of the connection's bound, each let out before
                    # the next (Connection.make_room): a backlog larger than the bound still arrives.
                    for part in _parts(items, conn.max_buffer // 4):
                        self._metrics.delivered += conn.push_items(part, self._max_frame)
                        await conn.make_room()
                        if conn.close_code is not None:
                            return
                    conn.read_through(last)
                if fetched < BATCH and not conn.need_sync:
                    break
            caught_up = True
        finally:
            conn.end_read(caught_up=caught_up)

    # --- the broker --------------------------------------------------------------------------------

    async def on_broker_event(self, event: BrokerEvent) -> None:
        match event:
            case DeviceNews(devices=devices, all_devices=all_devices):
                if all_devices:
                    targets = list(self.connections.values())
                else:
                    targets = [c for d in devices if (c := self.connections.get(d)) is not None]
                for target in targets:
                    target.request_sync()
            case Ephemeral(devices=devices, frame=frame, close=close):
                for device in devices:
                    conn = self.connections.get(device)
                    if conn is not None:
                        conn.push(frame)
                        if close:
                            conn.close(4001, "device removed")
            case Invalidate():
                self._invalidate(event)
            case Connected(node=node, devices=devices, at=at) if node != self.node:
                for device, then in zip(devices, at, strict=True):
                    conn = self.connections.get(device)
                    if conn is not None and self._since.get(device, 0) <= then:
                        conn.close(REPLACED, "this device connected again elsewhere")
            case Connected():
                pass  # this node's own, back from the broker

    async def run(self) -> None:
        """Publish pending pokes in batches (several-node mode). Owned by the lifespan.

        Pokes that could not be published are kept and sent again after a pause. When the task is
        cancelled (shutdown), the pending pokes are still published, within a short bound: a
        committed message must not go unannounced to a connection on another node.
        """
        pause = 0.1
        try:
            while True:
                await self._poke_ready.wait()
                self._poke_ready.clear()
                if await self._publish_pokes():
                    pause = 0.1
                    continue
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                self._poke_ready.set()
        except asyncio.CancelledError:
            if self._pokes or self._connected:
                try:
                    async with asyncio.timeout(FLUSH_TIMEOUT_S):
                        await self._publish_pokes()
                except TimeoutError:
                    log.warning("shut down with %d pokes unpublished", len(self._pokes))
            raise

    async def _publish_pokes(self) -> bool:
        """Publish what is pending (pokes, then hellos); on failure keep it for the next try and
        return False."""
        devices, self._pokes = self._pokes, set()
        hellos, self._connected = self._connected, {}
        try:
            if devices:
                await self._broker.publish(DeviceNews(tuple(devices)))
                devices = set()
            if hellos:
                await self._broker.publish(Connected(self.node, tuple(hellos), tuple(hellos.values())))
        except asyncio.CancelledError:
            self._keep(devices, hellos)
            raise
        except Exception:
            self._keep(devices, hellos)
            log.warning("could not publish %d pokes; trying again", len(devices), exc_info=True)
            return False
        return True

    def _keep(self, devices: set[DeviceId], hellos: dict[DeviceId, int]) -> None:
        self._pokes |= devices
        for device, at in hellos.items():
            self._connected.setdefault(device, at)

    def close_all(self, code: int = 1001, reason: str = "server shutting down") -> None:
        for conn in list(self.connections.values()):
            conn.close(code, reason)


def _parts(items: list[MailboxItem], budget: int) -> list[list[MailboxItem]]:
    """``items`` in order, cut into runs whose bodies add up to at most ``budget`` bytes (a run
    holds at least one item)."""
    parts: list[list[MailboxItem]] = []
    run: list[MailboxItem] = []
    size = 0
    for item in items:
        if run and size + len(item.body) > budget:
            parts.append(run)
            run, size = [], 0
        run.append(item)
        size += len(item.body)
    if run:
        parts.append(run)
    return parts
