"""The SQLite mailbox: the hot path, as plain functions run on the writer thread by
``SqliteMailbox`` (through ``SqliteEngine.transact`` where they need a transaction).

Rules:
- One writer assigns message ids and positions from ``Sequences``, an in-memory copy of the
  ``sequences`` row that is saved in the same transaction as the rows using it and advanced at the
  batch's end, once nothing but COMMIT is left. So positions grow in commit order across all
  devices, and a failed batch leaves nothing behind but (if its COMMIT failed) unused numbers.
- An append is one transaction of a few ``executemany`` calls. The common case (no repeated client
  id, every target device present) is detected from row counts, so it costs no extra query; the
  rare cases look up what they need afterwards.
- A payload for a device that no longer exists is not stored (as on PostgreSQL, where such a device
  has no counter to take a position from).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

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
from passerelle.storage.appended import message_columns, new_item, repeated, shared_items, stored
from passerelle.storage.sql.mailbox import FETCH, INSERT_MESSAGE, SELECT_MESSAGE, item_from_row
from passerelle.storage.sqlite.engine import SqliteEngine

LOAD_SEQUENCES = (
    "SELECT s.next_message_id, MAX(s.next_pos, COALESCE((SELECT MAX(pos) + 1 FROM mailbox), 1)) "
    "FROM sequences s WHERE s.id = 0"
)
SAVE_SEQUENCES = "UPDATE sequences SET next_message_id = ?, next_pos = ? WHERE id = 0"
# The EXISTS probe is one primary-key lookup in C per row; its row count says whether any target
# device was missing, without a query per device.
INSERT_ITEM = (
    "INSERT INTO mailbox (pos, device, message_id, kind, conv, sender, sender_device, ts, expires_at, body) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?2)"
)
# A group message's items, one statement for the whole fan-out: the devices come as one JSON array
# and device i gets position ?1 + i (a device that no longer exists leaves its number unused). The
# body is the message's row in ``bodies`` (one per message, whatever the fan-out).
INSERT_SHARED_ITEMS = (
    "INSERT INTO mailbox (pos, device, message_id, kind, conv, sender, sender_device, ts, expires_at, body, "
    "body_id) SELECT ?1 + j.key, j.value, ?2, ?3, ?4, ?5, ?6, ?7, ?8, X'', ?2 FROM json_each(?9) AS j "
    "WHERE EXISTS (SELECT 1 FROM devices WHERE id = j.value)"
)
INSERT_BODY = "INSERT INTO bodies (id, expires_at, body) VALUES (?, ?, ?)"
EXISTING_DEVICES = "SELECT id FROM devices WHERE id IN (SELECT value FROM json_each(?))"
ACK = "DELETE FROM mailbox WHERE device = ? AND pos <= ?"
DROP = "DELETE FROM mailbox WHERE device = ? AND pos = ?"

_ItemRow = tuple[
    MailboxPos, DeviceId, MessageId, str, ConversationId, AccountId, DeviceId, Timestamp, Timestamp, bytes
]
_MessageRow = tuple[DeviceId, ClientMessageId, MessageId, Timestamp, Timestamp]
_SharedRow = tuple[int, MessageId, str, ConversationId, AccountId, DeviceId, Timestamp, Timestamp, str]
"""A group message's items: first position, the message's fields, its devices as a JSON array."""
_Span = tuple[int, int, int]
"""A message's own rows ``rows[a:b]`` and its group items' first position (or -1)."""


@dataclass(slots=True)
class Sequences:
    """The next message id and mailbox position. Owned by the writer thread."""

    next_message_id: int
    next_pos: int


def load_sequences(conn: sqlite3.Connection) -> Sequences:
    next_message_id, next_pos = conn.execute(LOAD_SEQUENCES).fetchone()
    return Sequences(next_message_id=int(next_message_id), next_pos=int(next_pos))


def append(
    conn: sqlite3.Connection,
    seq: Sequences,
    batch: Sequence[OutgoingMessage],
    acks: Sequence[tuple[DeviceId, MailboxPos]] = (),
) -> list[AppendResult]:
    first_id = seq.next_message_id
    remembered: list[_MessageRow] = [
        (m.sender_device, m.client_id, MessageId(first_id + i), m.ts, m.expires_at)
        for i, m in enumerate(batch)
        if m.client_id is not None
    ]
    pos = seq.next_pos
    rows: list[_ItemRow] = []
    shared: list[_SharedRow] = []
    bodies: list[tuple[MessageId, Timestamp, bytes]] = []
    spans: list[_Span | AppendResult] = []
    missing: set[str] = set()
    fanout: list[DeviceId] = []
    repeats: dict[MessageId, AppendResult] = {}
    if remembered and conn.executemany(INSERT_MESSAGE, remembered).rowcount != len(remembered):
        repeats = _repeats(conn, remembered)
    for i, m in enumerate(batch):
        message_id = MessageId(first_id + i)
        repeat = repeats.get(message_id)
        if repeat is not None:
            spans.append(repeat)
            continue
        start = len(rows)
        columns = message_columns(m, message_id)
        for device, body in m.payloads:
            rows.append((MailboxPos(pos), device, *columns, body))
            pos += 1
        shared_at = -1
        if m.shared_body is not None:
            shared_at = pos
            bodies.append((message_id, m.expires_at, m.shared_body))
            row = (pos, *columns, json.dumps(m.shared_to, separators=(",", ":")))
            shared.append(row)
            fanout += m.shared_to
            pos += len(m.shared_to)
        spans.append((start, len(rows), shared_at))
    if rows and conn.executemany(INSERT_ITEM, rows).rowcount != len(rows):
        missing = _missing_devices(conn, [r[1] for r in rows])
    if bodies:
        conn.executemany(INSERT_BODY, bodies)
        inserted = sum(conn.execute(INSERT_SHARED_ITEMS, row).rowcount for row in shared)
        if inserted != len(fanout):
            missing |= _missing_devices(conn, fanout)
    conn.execute(SAVE_SEQUENCES, (first_id + len(batch), pos))
    if acks:
        conn.executemany(ACK, acks)
    seq.next_message_id = first_id + len(batch)
    seq.next_pos = pos
    return [
        span
        if isinstance(span, AppendResult)
        else _stored(batch[i], MessageId(first_id + i), rows[span[0] : span[1]], span[2], missing)
        for i, span in enumerate(spans)
    ]


def _stored(
    m: OutgoingMessage,
    message_id: MessageId,
    rows: list[_ItemRow],
    shared_at: int,
    missing: set[str],
) -> AppendResult:
    items = tuple(
        new_item(m, message_id, r[1], r[0], r[9]) for r in rows if not missing or r[1] not in missing
    )
    shared: SharedItems | None = None
    if m.shared_body is not None:
        devices: Sequence[DeviceId] = m.shared_to
        positions: Sequence[int] = range(shared_at, shared_at + len(devices))
        if missing:
            kept = [(d, p) for d, p in zip(devices, positions, strict=True) if d not in missing]
            devices, positions = [d for d, _ in kept], [p for _, p in kept]
        shared = shared_items(m, message_id, devices, positions)
    return stored(m, message_id, items, shared)


def _repeats(conn: sqlite3.Connection, remembered: list[_MessageRow]) -> dict[MessageId, AppendResult]:
    """The messages whose client id was already known (before or earlier in this batch): the id
    this batch meant to give each of them, mapped to the first message's result."""
    repeats: dict[MessageId, AppendResult] = {}
    for sender_device, client_id, meant_id, _ts, _expires in remembered:
        first_id, ts, expires_at = conn.execute(SELECT_MESSAGE, (sender_device, client_id)).fetchone()
        if first_id != meant_id:
            repeats[meant_id] = repeated(first_id, ts, expires_at)
    return repeats


def _missing_devices(conn: sqlite3.Connection, devices: list[DeviceId]) -> set[str]:
    targets: set[str] = set(devices)
    found = {row[0] for row in conn.execute(EXISTING_DEVICES, (json.dumps(sorted(targets)),))}
    return targets - found


def fetch(
    conn: sqlite3.Connection, device: DeviceId, after: MailboxPos, limit: int, now: Timestamp
) -> list[MailboxItem]:
    return [item_from_row(device, row) for row in conn.execute(FETCH, (device, after, now, limit))]


def ack(conn: sqlite3.Connection, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
    return conn.executemany(ACK, acks).rowcount


def drop(conn: sqlite3.Connection, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
    return conn.executemany(DROP, [(device, pos) for pos in positions]).rowcount


class SqliteMailbox:
    """The mailbox's hot path on ``SqliteEngine`` (``storage.sql.part.EngineMailbox``)."""

    def __init__(self, engine: SqliteEngine) -> None:
        self._engine = engine
        self._seq = Sequences(next_message_id=1, next_pos=1)

    async def open(self) -> None:
        self._seq = await self._engine.submit(load_sequences)

    async def append(
        self, batch: Sequence[OutgoingMessage], acks: Sequence[tuple[DeviceId, MailboxPos]]
    ) -> list[AppendResult]:
        return await self._engine.transact(append, self._seq, batch, acks)

    async def fetch(
        self, device: DeviceId, after: MailboxPos, limit: int, now: Timestamp
    ) -> list[MailboxItem]:
        return await self._engine.submit(fetch, device, after, limit, now)

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        # Deleting acknowledged items never waits for the disk: lost in a power cut, they would be
        # delivered again (at-least-once, clients deduplicate), and the next append's durable
        # commit makes this one durable too (SqliteEngine.transact_lazy).
        return await self._engine.transact_lazy(ack, acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        return await self._engine.transact(drop, device, positions)
