"""``PostgresLease``: a cluster-wide job's lease as a PostgreSQL session advisory lock.

The lock is held on a connection of its own (not the pool's: a pooled connection changes hands).
PostgreSQL releases it when that session ends: at once when the holder's process dies (its kernel
closes the socket), after the TCP keepalive probes set here when the holder's host vanishes, and on
``close``. The key is the job's name and the schema, so deployments (and tests) sharing a database
in different schemas have leases of their own.

Why PostgreSQL and not a Redis lease: the jobs work on PostgreSQL only, so its availability is the
jobs' own; the lock needs no expiry to tune and no renewal loop (its life is the session's), and a
holder that cannot reach PostgreSQL could not do the work anyway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

log = logging.getLogger("passerelle.lease")

_TRY = "SELECT pg_try_advisory_lock(hashtext($1 || ':' || current_schema()))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext($1 || ':' || current_schema()))"
_CHECK_TIMEOUT_S = 5.0
_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
"""What a lost or killed session raises (asyncpg may not have seen the socket close yet)."""
_KEEPALIVES = {
    # The server drops a holder whose host stopped answering within about 10 + 3 x 5 = 25 s.
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


class PostgresLease:
    def __init__(self, dsn: str, name: str) -> None:
        self._dsn = dsn
        self._name = f"passerelle.lease.{name}"
        self._conn: Any = None
        self._holding = False

    async def held(self) -> bool:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_S):
                if self._conn is None or self._conn.is_closed():
                    self._holding = False
                    self._conn = await asyncpg.connect(
                        self._dsn, server_settings={"application_name": "passerelle-lease", **_KEEPALIVES}
                    )
                if self._holding:
                    await self._conn.fetchval("SELECT 1")  # the session, hence the lock, is still there
                else:
                    self._holding = bool(await self._conn.fetchval(_TRY, self._name))
                    if self._holding:
                        log.info(
                            "this node now runs the cluster's periodic jobs", extra={"lease": self._name}
                        )
        except _LOST as exc:
            if self._holding:
                log.warning("lost the lease of the cluster's periodic jobs: %s", type(exc).__name__)
            await self._drop()
        return self._holding

    async def close(self) -> None:
        """Unlock first (so that the next node's ask finds it free), then end the session."""
        conn = self._conn
        if conn is not None and self._holding and not conn.is_closed():
            try:
                async with asyncio.timeout(_CHECK_TIMEOUT_S):
                    await conn.fetchval(_UNLOCK, self._name)
                    await conn.close()
            except _LOST:
                pass  # the session's end releases it anyway
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self._holding = self._conn, None, False
        if conn is not None and not conn.is_closed():
            conn.terminate()  # the session's end releases the lock; no need to wait for an answer
