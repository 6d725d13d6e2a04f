"""The PostgreSQL engine: an asyncpg pool, migrations under an advisory lock, transactions with a
retry on deadlock or serialization failure, and the driver's errors mapped to the domain's.

Rules (the same shape as ``SqliteEngine``'s):
- Transactions are opened here only: ``transact(op)`` runs ``op(conn, ...)`` inside one
  transaction, retried from the start (up to ``_ATTEMPTS`` times) when PostgreSQL aborts it to
  break a deadlock or a serialization conflict; ``write`` is ``transact`` of a transaction function
  (``storage.sql.txn``). ``run`` and ``read`` work on one pooled connection outside a transaction,
  each statement committed on its own (every read transaction function issues a single statement).
- Losing the server, the network or a connection slot raises ``Unavailable`` (``raise ... from``);
  a foreign key naming a row that is gone (a device removed meanwhile) raises ``NotFound``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

import asyncpg

from passerelle.domain.errors import NotFound, Unavailable
from passerelle.storage import outage
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.migrate import (
    CREATE_VERSION_TABLE,
    RECORD_VERSION,
    SELECT_VERSION,
    Migration,
    pending,
)
from passerelle.storage.sql.txn import ALL, COUNT, ONE, Txn

P = ParamSpec("P")
R = TypeVar("R")

_ATTEMPTS: Final = 3
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
_GONE = "the device, account or conversation no longer exists"


def _closed_under(exc: BaseException) -> bool:
    """asyncpg raises ``InterfaceError`` when the connection died under the work (PostgreSQL went
    away mid-transaction: "cannot call Transaction.__aexit__(): the underlying connection is
    closed", raised while handling the connection's own error): an outage like any other. Any other
    ``InterfaceError`` is a bug and stays one. (The pooled connection cannot be asked: once
    released to the pool its proxy raises on every call.)"""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _UNAVAILABLE) or "connection is closed" in str(cause):
            return True
        cause = cause.__context__
    return False


# One migration at a time per schema, even when several servers start together.
_MIGRATION_LOCK = "SELECT pg_advisory_lock(hashtext('passerelle.migrate:' || current_schema()))"
_MIGRATION_UNLOCK = "SELECT pg_advisory_unlock(hashtext('passerelle.migrate:' || current_schema()))"

Connection = Any
"""An asyncpg connection (asyncpg ships no type information)."""


def rowcount(status: str) -> int:
    """The row count of a command status such as ``DELETE 3`` or ``INSERT 0 1``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresEngine:
    def __init__(
        self,
        dsn: str,
        *,
        dialect: Dialect,
        min_size: int = 1,
        max_size: int = 10,
        search_path: str | None = None,
        command_timeout_s: float = 30.0,
    ) -> None:
        self.dialect = dialect
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._search_path = search_path
        self._command_timeout_s = command_timeout_s
        self._pool: Any = None

    async def start(self, migrations: list[Migration]) -> None:
        settings = {"application_name": "passerelle"}
        if self._search_path is not None:
            settings["search_path"] = self._search_path
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                command_timeout=self._command_timeout_s,
                server_settings=settings,
                reset=_keep_session,
            )
            await self.run(_migrate, migrations, self.dialect)
        except _UNAVAILABLE as exc:
            await self.stop()
            raise Unavailable("the database is unavailable") from exc
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # -- running work --------------------------------------------------------------------------

    async def run(
        self, op: Callable[Concatenate[Connection, P], Awaitable[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``op(conn, *args)`` on a pooled connection, outside any transaction."""
        pool = self._pool
        if pool is None:
            raise Unavailable("the store is closed")
        try:
            async with pool.acquire() as conn:
                return await op(conn, *args, **kwargs)
        except _UNAVAILABLE as exc:
            outage.report("postgresql", exc)
            raise Unavailable("the database is unavailable") from exc
        except asyncpg.InterfaceError as exc:
            if not _closed_under(exc):
                raise
            outage.report("postgresql", exc)
            raise Unavailable("the database is unavailable") from exc
        except asyncpg.ForeignKeyViolationError as exc:
            raise NotFound(_GONE) from exc

    async def transact(
        self, op: Callable[Concatenate[Connection, P], Awaitable[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``op(conn, *args)`` inside one transaction, run again when PostgreSQL rolls it back to
        break a deadlock or a serialization conflict."""
        pool = self._pool
        if pool is None:
            raise Unavailable("the store is closed")
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with pool.acquire() as conn, conn.transaction():
                    return await op(conn, *args, **kwargs)
            except asyncpg.exceptions.TransactionRollbackError as exc:
                if attempt == _ATTEMPTS:
                    raise Unavailable("the database is too busy; try again") from exc
            except _UNAVAILABLE as exc:
                outage.report("postgresql", exc)
                raise Unavailable("the database is unavailable") from exc
            except asyncpg.InterfaceError as exc:
                if not _closed_under(exc):
                    raise
                outage.report("postgresql", exc)
                raise Unavailable("the database is unavailable") from exc
            except asyncpg.ForeignKeyViolationError as exc:
                raise NotFound(_GONE) from exc
        raise AssertionError("unreachable")

    async def read(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        return await self.run(self._drive, fn, args, kwargs)

    async def write(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        return await self.transact(self._drive, fn, args, kwargs)

    async def _drive(
        self, conn: Connection, fn: Callable[..., Txn[R]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        render = self.dialect.render
        txn = fn(self.dialect, *args, **kwargs)
        try:
            query = next(txn)
            while True:
                sql = render(query.sql)
                mode = query.mode
                result: object
                if mode == ONE:
                    result = await conn.fetchrow(sql, *query.args)
                elif mode == ALL:
                    result = await conn.fetch(sql, *query.args)
                elif mode == COUNT:
                    result = rowcount(await conn.execute(sql, *query.args))
                else:
                    await conn.executemany(sql, query.args)
                    result = None
                query = txn.send(result)
        except StopIteration as stop:
            value: R = stop.value
            return value
        finally:
            txn.close()

    async def ping(self) -> bool:
        try:
            return bool(await self.run(_ping))
        except Unavailable:
            return False


async def _keep_session(conn: Connection) -> None:
    """Stands in for asyncpg's reset query on release (one round trip each time): the store leaves
    no session state behind (no SET, LISTEN, cursor or held advisory lock), and asyncpg itself
    still rolls back a transaction left open."""


async def _ping(conn: Connection) -> int:
    value: int = await conn.fetchval("SELECT 1")
    return value


async def _migrate(conn: Connection, migrations: list[Migration], dialect: Dialect) -> None:
    await conn.execute(_MIGRATION_LOCK)
    try:
        await conn.execute(CREATE_VERSION_TABLE)
        applied = int(await conn.fetchval(SELECT_VERSION))
        for migration in pending(migrations, applied):
            async with conn.transaction():
                if migration.sql.strip():  # empty where only the other engine has work in this version
                    await conn.execute(migration.sql)
                await conn.execute(
                    dialect.render(RECORD_VERSION), migration.version, migration.name, int(time.time() * 1000)
                )
    finally:
        await conn.execute(_MIGRATION_UNLOCK)
