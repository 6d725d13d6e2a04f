"""``PostgresStore``: the Store on PostgreSQL, safe for several server processes sharing a database.

Methods outside the mailbox are the shared transaction functions (``storage.sql.store``); the mailbox is
``postgres.mailbox``. All of them go through ``PostgresEngine``, which owns the asyncpg pool.
"""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.service.ports import Clock
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage
from passerelle.storage.postgres import mailbox as postgres_mailbox
from passerelle.storage.postgres.engine import PostgresEngine
from passerelle.storage.sql.dialect import postgres_dialect
from passerelle.storage.sql.mailbox import count_waiting_txn, delete_expired_txn, was_stored_txn
from passerelle.storage.sql.migrate import load_migrations
from passerelle.storage.sql.store import SqlStore


class PostgresStore(SqlStore):
    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        search_path: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        """A store on the PostgreSQL database at ``dsn``.

        Args:
            min_size: connections the pool keeps open.
            max_size: the most connections the pool opens.
            search_path: the schema(s) to work in (default: the server's, normally ``public``).
            clock: where "now" comes from when deciding what has expired (default: the wall clock).
        """
        self._dialect = postgres_dialect()
        self._pg = PostgresEngine(
            dsn, dialect=self._dialect, min_size=min_size, max_size=max_size, search_path=search_path
        )
        super().__init__(self._pg, clock=clock)

    async def open(self) -> None:
        await self._pg.start(load_migrations("postgres"))

    async def close(self) -> None:
        await self._pg.stop()

    async def ping(self) -> bool:
        return await self._pg.ping()

    # -- mailbox -------------------------------------------------------------------------------

    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        if not batch:
            await self.ack(acks)
            return []
        return await self._pg.transact(postgres_mailbox.append, batch, acks)

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        if limit <= 0:
            return []
        return await self._pg.run(postgres_mailbox.fetch, self._dialect, device, after, limit, self._now())

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        if not acks:
            return 0
        return await self._pg.run(postgres_mailbox.ack, acks)

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        if not positions:
            return 0
        return await self._pg.run(postgres_mailbox.drop, device, positions)

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId
    ) -> int:
        if not devices:
            return 0
        return await self._pg.read(count_waiting_txn, devices, conv, sender)

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        return await self._pg.read(was_stored_txn, sender_device, client_id)

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        return await self._pg.write(delete_expired_txn, now, idempotency_before)
