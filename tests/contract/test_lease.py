"""The job lease (service.ports.Lease): one holder at a time among the nodes sharing a database,
taken over when the holder goes, whatever way it goes; a server alone on its database always holds it."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from passerelle.service.business.evaluation import QualityEvaluation
from passerelle.storage.leases import SoleNode, open_lease
from passerelle.storage.postgres.lease import PostgresLease
from tests.integration.cluster import shared_schema

POSTGRES_URL = os.environ.get("PASSERELLE_TEST_POSTGRES_URL", "")


async def test_a_server_alone_on_its_database_always_holds_the_lease() -> None:
    lease = open_lease("sqlite:///data/passerelle.db", "janitor")
    assert isinstance(lease, SoleNode)
    assert await lease.held() and await lease.held()
    await lease.close()


async def kill_holder(url: str, name: str) -> int:
    """Terminate the session holding the lease ``name`` in the URL's schema (as when its node's
    process dies); how many sessions were terminated."""
    schema = parse_qs(urlsplit(url).query)["search_path"][0]
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        killed: int = await admin.fetchval(
            """
            WITH k AS (SELECT hashtext($1 || ':' || $2)::bigint AS key)
            SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l, k
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
            """,
            f"passerelle.lease.{name}",
            schema,
        )
    finally:
        await admin.close()
    return killed


@pytest.mark.postgres
async def test_one_holder_at_a_time_and_the_next_takes_over_when_it_closes_or_dies() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs PASSERELLE_TEST_POSTGRES_URL")
    async with shared_schema(migrated=False) as url:
        a, b, c = (open_lease(url, "janitor") for _ in range(3))
        assert isinstance(a, PostgresLease)
        try:
            assert [await a.held(), await b.held(), await c.held()] == [True, False, False]
            assert [await a.held(), await b.held()] == [True, False]  # kept while held
            other_job = open_lease(url, "another-job")
            assert await other_job.held()  # each name is a lease of its own
            await other_job.close()

            await a.close()  # given up (a node stopping): the next to ask takes it
            assert [await b.held(), await c.held()] == [True, False]

            # The holder's session dies under it (its process killed, its connection cut):
            # PostgreSQL releases the lock, another takes it, and the old holder learns it lost it.
            assert await kill_holder(url, "janitor") == 1
            async with asyncio.timeout(10):  # the server ends the session at once, or nearly
                while True:
                    if await c.held():
                        break
                    await asyncio.sleep(0.01)
            assert not await b.held()
            assert not await b.held()  # and does not take it back while c holds it
        finally:
            for lease in (a, b, c):
                await lease.close()


@pytest.mark.postgres
async def test_leases_of_other_schemas_are_their_own() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs PASSERELLE_TEST_POSTGRES_URL")
    async with shared_schema(migrated=False) as one, shared_schema(migrated=False) as two:
        first, second = open_lease(one, "janitor"), open_lease(two, "janitor")
        try:
            assert await first.held() and await second.held()
        finally:
            await first.close()
            await second.close()


class CountingEvaluation(QualityEvaluation):
    """The real evaluation loop, counting its passes instead of reading a store."""

    def __init__(self, passed: asyncio.Condition) -> None:
        self.passes = 0
        self._passed = passed

    async def evaluate_all(self) -> int:
        self.passes += 1
        async with self._passed:
            self._passed.notify_all()
        return 0


@pytest.mark.postgres
async def test_business_quality_is_evaluated_by_one_node_at_a_time() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs PASSERELLE_TEST_POSTGRES_URL")
    async with shared_schema(migrated=False) as url:
        passed = asyncio.Condition()
        nodes = [CountingEvaluation(passed) for _ in range(3)]

        async def until_total(total: int) -> None:
            async with passed:
                await asyncio.wait_for(passed.wait_for(lambda: sum(n.passes for n in nodes) >= total), 30)

        leases = [open_lease(url, "business-quality") for _ in nodes]
        runs = [asyncio.create_task(n.run(0.05, lease=lease)) for n, lease in zip(nodes, leases, strict=True)]
        try:
            await until_total(10)
            assert sorted(n.passes > 0 for n in nodes) == [False, False, True]
            holder = next(i for i, n in enumerate(nodes) if n.passes)
            runs[holder].cancel()  # the holder stops: it gives the lease up, another takes over
            await asyncio.gather(runs[holder], return_exceptions=True)
            before = [n.passes for n in nodes]
            await until_total(sum(before) + 5)
            grew = [i for i, n in enumerate(nodes) if n.passes > before[i]]
            assert len(grew) == 1 and grew[0] != holder
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
