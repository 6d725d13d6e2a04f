"""The mailbox of ``MemoryStore`` (``Mailbox``): idempotent appends, fetch, ack and the janitor.

Rules (the same as the SQL stores'):
- Message ids and positions come from the database's counters, one transaction at a time, so a
  device's positions grow in commit order and are never handed out twice (not even after the
  items holding the highest ones were acked).
- A repeated (sender_device, client_id), before or earlier in the same batch, returns the first
  message's result with ``duplicate=True`` and stores nothing.
- A payload for a device that no longer exists is not stored (its position stays unused).
- A group message's body is stored once in ``bodies`` and referenced from each member device's
  item; bodies go with their expiry, or once no item references them.
- A batch is checked whole before anything is stored: a failed batch leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import takewhile
from typing import TypeVar

import msgspec

from passerelle.domain.ids import (
    AccountId,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    MessageId,
    Timestamp,
)
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage, SharedItems
from passerelle.storage.appended import new_item, repeated, shared_items, stored
from passerelle.storage.memory.database import BodyRow, IntegrityError, MailboxRow, MemoryDatabase, SentRow
from passerelle.storage.memory.part import MemoryPart

K = TypeVar("K")
V = TypeVar("V")


def _check(batch: Sequence[OutgoingMessage]) -> None:
    for m in batch:
        bodies: list[object] = [body for _, body in m.payloads]
        if m.shared_body is not None:
            bodies.append(m.shared_body)
        if any(not isinstance(body, bytes) for body in bodies):
            raise IntegrityError("NOT NULL constraint failed: mailbox.body must be bytes")


def _store(db: MemoryDatabase, m: OutgoingMessage, message_id: MessageId) -> AppendResult:
    """Store one new message: a position per target, taken even for a device that is gone."""
    items: list[MailboxItem] = []
    for device, body in m.payloads:
        pos = MailboxPos(db.next_pos)
        db.next_pos += 1
        if device in db.devices:
            item = new_item(m, message_id, device, pos, body)
            db.mailbox.setdefault(device, {})[pos] = MailboxRow(item)
            items.append(item)
    shared: SharedItems | None = None
    if m.shared_body is not None:
        db.bodies[message_id] = BodyRow(expires_at=m.expires_at, body=m.shared_body)
        devices: list[DeviceId] = []
        positions: list[int] = []
        for device in m.shared_to:
            pos = MailboxPos(db.next_pos)
            db.next_pos += 1
            if device in db.devices:
                row = MailboxRow(new_item(m, message_id, device, pos, b""), body_id=message_id)
                db.mailbox.setdefault(device, {})[pos] = row
                devices.append(device)
                positions.append(pos)
        shared = shared_items(m, message_id, devices, positions)
    return stored(m, message_id, tuple(items), shared)


def _delete(db: MemoryDatabase, device: DeviceId, gone: Iterable[MailboxPos]) -> int:
    """Delete these positions of a device's mailbox (those it holds); returns how many."""
    items = db.mailbox.get(device)
    if not items:
        return 0
    deleted = sum(1 for pos in gone if items.pop(pos, None) is not None)
    if not items:
        del db.mailbox[device]
    return deleted


def ack_items(db: MemoryDatabase, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
    return sum(_delete(db, device, _upto(db.mailbox.get(device, {}), upto)) for device, upto in acks)


def _upto(items: dict[MailboxPos, MailboxRow], upto: MailboxPos) -> list[MailboxPos]:
    """The positions up to ``upto`` (the dict is in position order)."""
    return list(takewhile(lambda pos: pos <= upto, items))


def delete_items(db: MemoryDatabase, doomed: Callable[[MailboxRow], bool]) -> int:
    """Delete the items for which ``doomed(row)`` is true; returns how many."""
    return sum(
        _delete(db, device, [pos for pos, row in items.items() if doomed(row)])
        for device, items in list(db.mailbox.items())
    )


def drop_unreferenced_bodies(db: MemoryDatabase) -> int:
    referenced = {row.body_id for items in db.mailbox.values() for row in items.values()}
    gone = [body_id for body_id in db.bodies if body_id not in referenced]
    for body_id in gone:
        del db.bodies[body_id]
    return len(gone)


class MemoryMailbox(MemoryPart):
    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        db = await self._begin()
        _check(batch)
        results: list[AppendResult] = []
        for m in batch:
            message_id = MessageId(db.next_message_id)
            db.next_message_id += 1
            if m.client_id is not None:
                key = (m.sender_device, str(m.client_id))
                first = db.messages.get(key)
                if first is not None:
                    results.append(repeated(first.message_id, first.ts, first.expires_at))
                    continue
                db.messages[key] = SentRow(message_id=message_id, ts=m.ts, expires_at=m.expires_at)
            results.append(_store(db, m, message_id))
        ack_items(db, acks)
        return results

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        db = await self._begin()
        if limit <= 0:
            return []
        now = self._now()
        found: list[MailboxItem] = []
        for pos, row in db.mailbox.get(device, {}).items():
            if pos <= after or row.item.expires_at <= now:
                continue
            item = row.item
            if row.body_id is not None:
                body = db.bodies.get(row.body_id)
                if body is not None:
                    item = msgspec.structs.replace(item, body=body.body)
            found.append(item)
            if len(found) == limit:
                break
        return found

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        db = await self._begin()
        return ack_items(db, acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        """Only the named items (undeliverable ones); a group body goes with the janitor once no
        item references it."""
        db = await self._begin()
        return _delete(db, device, set(positions))

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId, up_to: int
    ) -> int:
        """The most unacknowledged messages (kind ``msg``) from ``sender`` in ``conv`` that any
        one of ``devices`` holds (expired ones count until the janitor deletes them), up to ``up_to``."""
        db = await self._begin()
        return min(
            up_to,
            max(
                (
                    sum(
                        1
                        for row in db.mailbox.get(device, {}).values()
                        if row.item.kind == "msg" and row.item.conv == conv and row.item.sender == sender
                    )
                    for device in devices
                ),
                default=0,
            ),
        )

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        db = await self._begin()
        return (sender_device, str(client_id)) in db.messages

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        db = await self._begin()
        deleted = delete_items(db, lambda row: row.item.expires_at <= now)
        for body_id in [b for b, row in db.bodies.items() if row.expires_at <= now]:
            del db.bodies[body_id]
            deleted += 1
        deleted += drop_unreferenced_bodies(db)
        deleted += _drop(db.messages, lambda r: r.expires_at <= now and r.ts < idempotency_before)
        deleted += _drop(db.tokens, lambda r: r.expires_at <= now)
        deleted += _drop(db.challenges, lambda r: r.expires_at <= now)
        deleted += _drop(db.codes, lambda r: r.expires_at <= now)
        return deleted


def _drop(table: dict[K, V], expired: Callable[[V], bool]) -> int:
    gone = [key for key, row in table.items() if expired(row)]
    for key in gone:
        del table[key]
    return len(gone)
