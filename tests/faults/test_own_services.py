"""The fault tests' own PostgreSQL and Redis: they start on their own ports, and a crash and restart
keeps what PostgreSQL committed (and empties Redis, which keeps nothing on disk)."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from tests.faults.services import OwnPostgres, OwnRedis


async def test_postgres_keeps_what_it_committed_across_a_crash(own_postgres: OwnPostgres) -> None:
    assert own_postgres.port != 5432
    connection = await asyncpg.connect(own_postgres.url)
    await connection.execute("CREATE TABLE t (n int)")
    await connection.execute("INSERT INTO t VALUES (1), (2)")
    await own_postgres.restart()
    # The old connection died with the server.
    assert connection.is_closed() or not await _alive(connection)
    connection = await asyncpg.connect(own_postgres.url)
    try:
        assert await connection.fetchval("SELECT sum(n) FROM t") == 3
    finally:
        await connection.close()


async def _alive(connection: asyncpg.Connection) -> bool:
    try:
        await connection.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


async def test_redis_restarts_empty(own_redis: OwnRedis) -> None:
    assert own_redis.port != 6379
    client = aioredis.from_url(own_redis.url)
    try:
        await client.set("k", "v")
        await own_redis.restart()
        assert await client.get("k") is None  # redis-py reconnects; the server kept nothing
    finally:
        await client.aclose()
