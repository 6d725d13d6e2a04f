"""``SqliteStore``: the Store on one SQLite file (WAL), for a single server process.

Every method is one job on the engine's writer thread (``sqlite.engine``), which owns the only
connection; the mailbox's hot path runs there as plain functions (``sqlite.mailbox``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.service.ports import Clock
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage
from passerelle.storage.sql.dialect import sqlite_dialect
from passerelle.storage.sql.mailbox import count_waiting_txn, delete_expired_txn, was_stored_txn
from passerelle.storage.sql.migrate import load_migrations
from passerelle.storage.sql.store import SqlStore
from passerelle.storage.sqlite import mailbox as sqlite_mailbox
from passerelle.storage.sqlite.engine import SqliteEngine


class SqliteStore(SqlStore):
    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        clock: Clock | None = None,
    ) -> None:
        """A store on the SQLite file at ``path`` (its folder is created on open).

        Args:
            synchronous: SQLite's ``PRAGMA synchronous``. FULL (the default) makes every commit
                durable across a power cut; NORMAL may lose the last commits then, never corrupts.
            busy_timeout_ms: how long to wait for another process holding the file (a backup).
            clock: where "now" comes from when deciding what has expired (default: the wall clock).
        """
        self._sqlite = SqliteEngine(
            Path(path), dialect=sqlite_dialect(), synchronous=synchronous, busy_timeout_ms=busy_timeout_ms
        )
        super().__init__(self._sqlite, clock=clock)
        self._seq = sqlite_mailbox.Sequences(next_message_id=1, next_pos=1)

    async def open(self) -> None:
        await self._sqlite.start(load_migrations("sqlite"), self._on_open)

    def _on_open(self, conn: sqlite3.Connection) -> None:
        self._seq = sqlite_mailbox.load_sequences(conn)

    async def close(self) -> None:
        await self._sqlite.stop()

    async def ping(self) -> bool:
        try:
            return await self._sqlite.submit(_ping)
        except (Unavailable, sqlite3.Error):
            return False

    # -- mailbox -------------------------------------------------------------------------------

    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        if not batch:
            await self.ack(acks)
            return []
        return await self._sqlite.submit(sqlite_mailbox.append, self._seq, batch, acks)

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        if limit <= 0:
            return []
        return await self._sqlite.submit(sqlite_mailbox.fetch, device, after, limit, self._now())

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        if not acks:
            return 0
        return await self._sqlite.submit(sqlite_mailbox.ack, acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        if not positions:
            return 0
        return await self._sqlite.submit(sqlite_mailbox.drop, device, positions)

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId
    ) -> int:
        if not devices:
            return 0
        return await self._sqlite.read(count_waiting_txn, devices, conv, sender)

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        return await self._sqlite.read(was_stored_txn, sender_device, client_id)

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        return await self._sqlite.write(delete_expired_txn, now, idempotency_before)


def _ping(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT 1").fetchone()[0] == 1)
