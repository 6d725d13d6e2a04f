"""``SqlStore``: the Store port on a SQL engine, for SQLite and PostgreSQL alike.

It is one part per port (``SqlAccountStore`` ... ``SqlStoryStore``, each beside its transaction
functions in the area's module; see ``part``), as ``MemoryStore`` is. What differs by engine is
given to it: the ``SqlEngine`` and the mailbox's hot path (``EngineMailbox``). ``SqliteStore`` and
``PostgresStore`` only choose those two.
"""

from __future__ import annotations

from passerelle.service.ports import Clock, Store
from passerelle.storage.sql.accounts import SqlAccountStore, SqlDeviceStore
from passerelle.storage.sql.conversations import SqlConversationStore
from passerelle.storage.sql.credentials import SqlCodeStore, SqlTokenStore
from passerelle.storage.sql.groups import SqlGroupStore
from passerelle.storage.sql.keys import SqlKeyStore
from passerelle.storage.sql.mailbox import SqlMailbox
from passerelle.storage.sql.media import SqlMediaStore
from passerelle.storage.sql.migrate import load_migrations
from passerelle.storage.sql.part import EngineMailbox, SqlEngine, wall_clock_ms
from passerelle.storage.sql.privacy_store import SqlPrivacyStore
from passerelle.storage.sql.stories import SqlStoryStore


class SqlStore(
    SqlAccountStore,
    SqlDeviceStore,
    SqlTokenStore,
    SqlCodeStore,
    SqlKeyStore,
    SqlConversationStore,
    SqlMailbox,
    SqlMediaStore,
    SqlPrivacyStore,
    SqlGroupStore,
    SqlStoryStore,
):
    def __init__(self, engine: SqlEngine, mailbox: EngineMailbox, *, clock: Clock | None = None) -> None:
        """A store on ``engine`` (not started), its hot path ``mailbox`` on the same engine.

        Args:
            clock: where "now" comes from when deciding what has expired (default: the wall clock).
        """
        self._engine = engine
        self._mailbox = mailbox
        self._now = wall_clock_ms if clock is None else clock.now_ms

    async def open(self) -> None:
        """Connect and apply the pending migrations of the engine's dialect."""
        await self._engine.start(load_migrations(self._engine.dialect.name))
        try:
            await self._mailbox.open()
        except BaseException:
            await self._engine.stop()
            raise

    async def close(self) -> None:
        await self._engine.stop()

    async def ping(self) -> bool:
        return await self._engine.ping()

    @property
    def engine(self) -> SqlEngine:
        """The engine, for stores of other ports on the same database (``storage.business``)."""
        return self._engine


def _implements_the_port(store: SqlStore) -> Store:
    return store  # mypy checks here that SqlStore is a Store
