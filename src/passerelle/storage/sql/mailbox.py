"""The mailbox: what both engines share, and ``SqlMailbox``, its part of ``SqlStore``. The hot path
(append, fetch, ack, drop) is engine-specific (positions come from one writer's counter on SQLite
and from a locked per-device counter on PostgreSQL): ``SqlMailbox`` hands it to the engine's
``EngineMailbox``, ``storage.sqlite.mailbox.SqliteMailbox`` or ``storage.postgres.mailbox.PostgresMailbox``.

Every item of one message carries the message's expiry, and a message's idempotency record
(``messages``) carries it too. So once a record is past its expiry no item of it can be left, and
the janitor can drop records older than the idempotency window without looking at the mailbox (an
index on ``mailbox.message_id`` would cost every insert on the hot path). A record whose items were
all acked early stays until its expiry: it remembers a client id a little longer, never shorter.
"""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Row, Txn, count, one

# A group item's body lives once in ``bodies`` (``body_id``); a 1:1 item's inline (body_id NULL).
FETCH = (
    "SELECT m.pos, m.kind, m.conv, m.sender, m.sender_device, m.ts, m.expires_at, "
    "COALESCE(b.body, m.body), m.message_id FROM mailbox m LEFT JOIN bodies b ON b.id = m.body_id "
    "WHERE m.device = ? AND m.pos > ? AND m.expires_at > ? ORDER BY m.pos LIMIT ?"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (sender_device, client_id, id, ts, expires_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
SELECT_MESSAGE = "SELECT id, ts, expires_at FROM messages WHERE sender_device = ? AND client_id = ?"

DELETE_EXPIRED_ITEMS = "DELETE FROM mailbox WHERE expires_at <= ?"
# Group bodies go with their items' expiry, or earlier once every item referencing them was acked.
DELETE_EXPIRED_BODIES = "DELETE FROM bodies WHERE expires_at <= ?"
DELETE_UNREFERENCED_BODIES = (
    "DELETE FROM bodies WHERE NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.body_id = bodies.id)"
)
DELETE_EXPIRED_MESSAGES = "DELETE FROM messages WHERE expires_at <= ? AND ts < ?"
DELETE_EXPIRED_TOKENS = "DELETE FROM tokens WHERE expires_at <= ?"
DELETE_EXPIRED_CHALLENGES = "DELETE FROM challenges WHERE expires_at <= ?"
DELETE_EXPIRED_CODES = "DELETE FROM codes WHERE expires_at <= ?"


def item_from_row(device: DeviceId, row: Row) -> MailboxItem:
    return MailboxItem(
        device=device,
        pos=row[0],
        kind=row[1],
        conv=row[2],
        sender=row[3],
        sender_device=row[4],
        ts=row[5],
        expires_at=row[6],
        body=row[7],
        message_id=row[8],
    )


def delete_expired_txn(d: Dialect, now: Timestamp, idempotency_before: Timestamp) -> Txn[int]:
    """Expired mailbox items, idempotency records past both the window and their expiry, and
    expired tokens, challenges and codes. Returns how many rows went, all tables together."""
    deleted = yield from count(DELETE_EXPIRED_ITEMS, now)
    deleted += yield from count(DELETE_EXPIRED_BODIES, now)
    deleted += yield from count(DELETE_UNREFERENCED_BODIES)
    deleted += yield from count(DELETE_EXPIRED_MESSAGES, now, idempotency_before)
    deleted += yield from count(DELETE_EXPIRED_TOKENS, now)
    deleted += yield from count(DELETE_EXPIRED_CHALLENGES, now)
    deleted += yield from count(DELETE_EXPIRED_CODES, now)
    return deleted


COUNT_WAITING = (
    "SELECT count(*) FROM (SELECT 1 FROM mailbox"
    " WHERE device = ? AND conv = ? AND sender = ? AND kind = 'msg' LIMIT ?) AS waiting"
)


def count_waiting_txn(
    d: Dialect, devices: Sequence[DeviceId], conv: ConversationId, sender: AccountId, up_to: int
) -> Txn[int]:
    """The most unacknowledged messages from ``sender`` in ``conv`` held for any one of ``devices``,
    counted up to ``up_to``."""
    most = 0
    for device in devices:
        row = yield from one(COUNT_WAITING, device, conv, sender, up_to)
        most = max(most, int(row[0]) if row is not None else 0)
        if most >= up_to:
            break
    return most


WAS_STORED = "SELECT 1 FROM messages WHERE sender_device = ? AND client_id = ?"


def was_stored_txn(d: Dialect, sender_device: DeviceId, client_id: ClientMessageId) -> Txn[bool]:
    row = yield from one(WAS_STORED, sender_device, client_id)
    return row is not None


class SqlMailbox(SqlPart):
    """``service.ports.Mailbox``: the hot path (append, fetch, ack, drop) is the engine's own
    ``_mailbox``, called only with work to do; the rest are the transaction functions above."""

    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        if not batch:
            await self.ack(acks)
            return []
        return await self._mailbox.append(batch, acks)

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        if limit <= 0:
            return []
        return await self._mailbox.fetch(device, after, limit, self._now())

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        if not acks:
            return 0
        return await self._mailbox.ack(acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        if not positions:
            return 0
        return await self._mailbox.drop(device, positions)

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId, up_to: int
    ) -> int:
        if not devices or up_to <= 0:
            return 0
        return await self._engine.read(count_waiting_txn, devices, conv, sender, up_to)

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        return await self._engine.read(was_stored_txn, sender_device, client_id)

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        return await self._engine.write(delete_expired_txn, now, idempotency_before)
