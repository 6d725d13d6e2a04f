"""``PostgresStore``: the Store on PostgreSQL, safe for several server processes sharing a database.

A ``SqlStore`` made of ``PostgresEngine`` (``engine``, which owns the asyncpg pool) and the
mailbox's hot path for it (``mailbox``).
"""

from __future__ import annotations

from passerelle.service.ports import Clock
from passerelle.storage.postgres.engine import PostgresEngine
from passerelle.storage.postgres.mailbox import PostgresMailbox
from passerelle.storage.sql.dialect import postgres_dialect
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
        engine = PostgresEngine(
            dsn, dialect=postgres_dialect(), min_size=min_size, max_size=max_size, search_path=search_path
        )
        super().__init__(engine, PostgresMailbox(engine), clock=clock)
