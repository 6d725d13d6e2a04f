"""The PostgreSQL mailbox: the hot path, written for several server processes at once.

Rules:
- A device's positions come from its ``devices.mbox_seq``, raised with ``UPDATE ... RETURNING``
  inside the append's transaction. The row lock that takes is held until COMMIT, so a second
  append to the same device waits: a device's positions are contiguous and commit in order, and a
  reader that has seen position P never later finds a new item below P.
- Devices are locked in id order before the update, so two appends to overlapping device sets
  cannot deadlock. The lock is FOR NO KEY UPDATE, the one an UPDATE of a non-key column takes, so
  it does not block the foreign-key checks of key or token inserts for the same device.
- A repeated (sender_device, client_id) is found by ``ON CONFLICT DO NOTHING RETURNING``: a
  message whose id does not come back was known before (or earlier in the batch), and its first
  record is read back. A concurrent append of the same client id waits on the unique index and
  then sees the first one committed.
- Each step is one statement whatever the batch size: rows travel as one JSON document, and the
  mailbox items by binary COPY.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from passerelle.domain.ids import DeviceId, MailboxPos, MessageId, Timestamp
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage, SharedItems
from passerelle.storage.appended import (
    MessageColumns,
    message_columns,
    new_item,
    repeated,
    shared_items,
    stored,
)
from passerelle.storage.postgres.engine import Connection, PostgresEngine, rowcount
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.mailbox import FETCH, item_from_row

NEXT_MESSAGE_IDS: Final = "SELECT array_agg(nextval('message_ids')) FROM generate_series(1, $1::int)"
# Many-row parameters travel as one JSON document (or COPY for the items): asyncpg checks every
# element of an array parameter against several ABCs, which costs more than the whole insert.
INSERT_MESSAGES: Final = (
    "INSERT INTO messages (sender_device, client_id, id, ts, expires_at) "
    "SELECT r.sender_device, r.client_id, r.id, r.ts, r.expires_at FROM json_to_recordset($1::json) "
    "AS r(sender_device text, client_id text, id bigint, ts bigint, expires_at bigint) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
SELECT_MESSAGES: Final = (
    "SELECT m.sender_device, m.client_id, m.id, m.ts, m.expires_at FROM messages m "
    "JOIN unnest($1::text[], $2::text[]) AS k(sender_device, client_id) "
    "ON m.sender_device = k.sender_device AND m.client_id = k.client_id"
)
# $1: a JSON object {device id: how many items it receives}.
LOCK_DEVICES: Final = (
    "SELECT 1 FROM devices WHERE id IN (SELECT key FROM json_each_text($1::json)) "
    "ORDER BY id FOR NO KEY UPDATE"
)
RAISE_COUNTERS: Final = (
    "UPDATE devices AS d SET mbox_seq = d.mbox_seq + w.value::bigint FROM json_each_text($1::json) AS w "
    "WHERE d.id = w.key RETURNING d.id, d.mbox_seq"
)
MAILBOX_COLUMNS: Final = (
    "device",
    "pos",
    "message_id",
    "kind",
    "conv",
    "sender",
    "sender_device",
    "ts",
    "expires_at",
    "body",
)
SHARED_COLUMNS: Final = (*MAILBOX_COLUMNS, "body_id")
BODY_COLUMNS: Final = ("id", "expires_at", "body")
ACK_ONE: Final = "DELETE FROM mailbox WHERE device = $1 AND pos <= $2"
DROP: Final = "DELETE FROM mailbox WHERE device = $1 AND pos = ANY($2::bigint[])"
ACK_MANY: Final = (
    "DELETE FROM mailbox AS m USING unnest($1::text[], $2::bigint[]) AS a(device, upto) "
    "WHERE m.device = a.device AND m.pos <= a.upto"
)


async def append(
    conn: Connection, batch: Sequence[OutgoingMessage], acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
) -> list[AppendResult]:
    """Run inside a transaction (``PostgresEngine.transact``); ``acks`` are applied in it too."""
    if acks:
        await ack(conn, acks)
    ids: list[MessageId] = sorted(await conn.fetchval(NEXT_MESSAGE_IDS, len(batch)))
    repeats = await _insert_records(conn, batch, ids)

    wanted: dict[DeviceId, int] = {}
    for i, m in enumerate(batch):
        if i not in repeats:
            for device, _body in m.payloads:
                wanted[device] = wanted.get(device, 0) + 1
            for device in m.shared_to if m.shared_body is not None else ():
                wanted[device] = wanted.get(device, 0) + 1
    next_pos: dict[DeviceId, int] = {}
    if wanted:
        counts = json.dumps(wanted)
        await conn.execute(LOCK_DEVICES, counts)
        for device, last in await conn.fetch(RAISE_COUNTERS, counts):
            next_pos[device] = last - wanted[device] + 1

    results: list[AppendResult] = []
    records: list[tuple[object, ...]] = []
    shared: list[tuple[object, ...]] = []
    bodies: list[tuple[object, ...]] = []
    for i, m in enumerate(batch):
        repeat = repeats.get(i)
        if repeat is not None:
            results.append(repeat)
            continue
        message_id = ids[i]
        items: list[MailboxItem] = []
        columns = message_columns(m, message_id)
        for device, body in m.payloads:
            pos = next_pos.get(device)
            if pos is None:  # the device is gone
                continue
            next_pos[device] = pos + 1
            items.append(new_item(m, message_id, device, MailboxPos(pos), body))
            records.append((device, pos, *columns, body))
        group: SharedItems | None = None
        if m.shared_body is not None:
            bodies.append((message_id, m.expires_at, m.shared_body))
            group = _shared_items(m, columns, next_pos, shared)
        results.append(stored(m, message_id, tuple(items), group))
    if records:
        await conn.copy_records_to_table("mailbox", records=records, columns=MAILBOX_COLUMNS)
    if bodies:
        await conn.copy_records_to_table("bodies", records=bodies, columns=BODY_COLUMNS)
        await conn.copy_records_to_table("mailbox", records=shared, columns=SHARED_COLUMNS)
    return results


def _shared_items(
    m: OutgoingMessage,
    columns: MessageColumns,
    next_pos: dict[DeviceId, int],
    records: list[tuple[object, ...]],
) -> SharedItems:
    """The group items of ``m``: each device's mailbox references the body stored once."""
    message_id = columns[0]
    devices: list[DeviceId] = []
    positions: list[int] = []
    for device in m.shared_to:
        pos = next_pos.get(device)
        if pos is None:  # the device is gone
            continue
        next_pos[device] = pos + 1
        devices.append(device)
        positions.append(pos)
        records.append((device, pos, *columns, b"", message_id))
    return shared_items(m, message_id, devices, positions)


async def _insert_records(
    conn: Connection, batch: Sequence[OutgoingMessage], ids: list[MessageId]
) -> dict[int, AppendResult]:
    """Remember the batch's client ids; return the repeats by their index in the batch."""
    remembered = [i for i, m in enumerate(batch) if m.client_id is not None]
    if not remembered:
        return {}
    document = json.dumps(
        [
            {
                "sender_device": batch[i].sender_device,
                "client_id": batch[i].client_id,
                "id": ids[i],
                "ts": batch[i].ts,
                "expires_at": batch[i].expires_at,
            }
            for i in remembered
        ]
    )
    inserted = await conn.fetch(INSERT_MESSAGES, document)
    if len(inserted) == len(remembered):
        return {}
    fresh = {row[0] for row in inserted}
    known = [i for i in remembered if ids[i] not in fresh]
    rows = await conn.fetch(
        SELECT_MESSAGES,
        [batch[i].sender_device for i in known],
        [batch[i].client_id for i in known],
    )
    first = {(row[0], row[1]): row for row in rows}
    repeats: dict[int, AppendResult] = {}
    for i in known:
        row = first[(batch[i].sender_device, batch[i].client_id)]
        repeats[i] = repeated(row[2], row[3], row[4])
    return repeats


async def fetch(
    conn: Connection, dialect: Dialect, device: DeviceId, after: MailboxPos, limit: int, now: Timestamp
) -> list[MailboxItem]:
    rows = await conn.fetch(dialect.render(FETCH), device, after, now, limit)
    return [item_from_row(device, row) for row in rows]


async def ack(conn: Connection, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
    if len(acks) == 1:
        device, upto = acks[0]
        return rowcount(await conn.execute(ACK_ONE, device, upto))
    status = await conn.execute(ACK_MANY, [a[0] for a in acks], [a[1] for a in acks])
    return rowcount(status)


async def drop(conn: Connection, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
    return rowcount(await conn.execute(DROP, device, list(positions)))


class PostgresMailbox:
    """The mailbox's hot path on ``PostgresEngine`` (``storage.sql.part.EngineMailbox``)."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def open(self) -> None:
        """Nothing to load: positions come from each device's counter."""

    async def append(
        self, batch: Sequence[OutgoingMessage], acks: Sequence[tuple[DeviceId, MailboxPos]]
    ) -> list[AppendResult]:
        return await self._engine.transact(append, batch, acks)

    async def fetch(
        self, device: DeviceId, after: MailboxPos, limit: int, now: Timestamp
    ) -> list[MailboxItem]:
        return await self._engine.run(fetch, self._engine.dialect, device, after, limit, now)

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        return await self._engine.run(ack, acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        return await self._engine.run(drop, device, positions)
