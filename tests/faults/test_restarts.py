"""Redis and PostgreSQL restarted under load, under two nodes that keep running.

Two server nodes share a PostgreSQL and a Redis of the test's own (tests/faults/services.py); pairs
of SDK clients, one person on each node, write to each other continuously. Then:

- **Redis** is killed and started again, empty: pokes published while it was away are lost, the
  nodes resubscribe and re-read their connected devices' mailboxes, so delivery goes on after a
  bounded pause and nothing is lost.
- **PostgreSQL** crashes (an immediate shutdown: every connection dies, no checkpoint) and stays
  down for a while: the nodes keep running and answer what needs the database with ``unavailable``
  (503 over REST, an ``error`` frame over the WebSocket, ``/readyz`` 503); the SDK sends again what
  was refused, with the same client id. When PostgreSQL is back, the nodes use it again without
  being restarted, and every acknowledged message arrives once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from passerelle.sdk import Client
from tests.faults.services import OwnPostgres, OwnRedis
from tests.faults.traffic import Traffic, both_ways
from tests.integration.cluster import Cluster, cluster

PW = "correct horse battery"
DOWN_S = 3.0

pytestmark = pytest.mark.timeout(180)


async def pairs_across(c: Cluster, tmp_path: Path) -> AsyncIterator[list[Client]]:
    a, b = c.nodes
    people: list[Client] = []
    try:
        for index, name in enumerate(("alice", "bob", "carol", "dave")):
            node = (a, b)[index % 2]
            people.append(
                await Client.register(node.url, tmp_path / name, app="photo", handle=name, password=PW)
            )
        for person in people:
            await person.connect()
        yield people
    finally:
        for person in people:
            await person.close()


async def ready_again(http: httpx.AsyncClient, url: str) -> None:
    """Poll ``/readyz`` (as a load balancer does) until it answers 200."""
    async with asyncio.timeout(30):
        while True:
            if (await http.get(f"{url}/readyz")).status_code == 200:
                return
            await asyncio.sleep(0.1)


async def test_redis_restarted_under_load_delivery_goes_on_nothing_lost(
    tmp_path: Path, own_postgres: OwnPostgres, own_redis: OwnRedis
) -> None:
    async with cluster(tmp_path, postgres_url=own_postgres.url, redis_url=own_redis.url) as c:
        async for people in pairs_across(c, tmp_path):
            alice, bob, carol, dave = people
            async with Traffic(both_ways(("ab", alice, bob), ("cd", carol, dave))) as traffic:
                for _ in range(2):
                    await traffic.until_acked(40)
                    await own_redis.restart()
                await traffic.until_acked(40)
                await traffic.stop()
                figures = traffic.check()
    print(f"Redis restarted twice under load: {figures}")
    assert figures.lost == figures.duplicated == figures.invented == 0


async def test_postgres_restarted_under_load_refuses_clearly_then_recovers_losing_nothing(
    tmp_path: Path, own_postgres: OwnPostgres, own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="passerelle")
    async with cluster(tmp_path, postgres_url=own_postgres.url, redis_url=own_redis.url) as c:
        async for people in pairs_across(c, tmp_path):
            alice, bob, carol, dave = people
            async with Traffic(both_ways(("ab", alice, bob), ("cd", carol, dave))) as traffic:
                await traffic.until_acked(40)
                await own_postgres.crash()
                down_at = asyncio.get_running_loop().time()
                async with httpx.AsyncClient(timeout=10.0) as http:
                    for node in c.nodes:
                        assert (await http.get(f"{node.url}/readyz")).status_code == 503
                        assert (await http.get(f"{node.url}/healthz")).status_code == 200
                        # What needs the database is refused with a clear, retryable error (a
                        # challenge is issued without it; spending it to log in needs it).
                        challenge = await http.post(
                            f"{node.url}/v1/auth/challenge", json={"device_id": alice.device_id}
                        )
                        assert challenge.status_code == 200, challenge.text
                        login = {"device_id": alice.device_id, "challenge": challenge.json()["challenge"]}
                        refused = await http.post(
                            f"{node.url}/v1/auth/token", json={**login, "signature": "AAAA"}
                        )
                        assert refused.status_code == 503, refused.text
                        assert refused.json()["error"]["code"] == "unavailable"
                    await asyncio.sleep(max(0.0, DOWN_S - (asyncio.get_running_loop().time() - down_at)))
                    await own_postgres.start()
                    # The nodes are back without being restarted.
                    for node in c.nodes:
                        await ready_again(http, node.url)
                await traffic.until_acked(80)
                await traffic.stop()
                figures = traffic.check()
    print(f"PostgreSQL down {DOWN_S} s under load: {figures}")
    assert figures.lost == figures.duplicated == figures.invented == 0
    # The SDK sent again, with the same client id, what was refused while PostgreSQL was down:
    # every send_text ended with the server's `sent`.
    assert figures.failed_sends == {}
    # An outage, not a fault: nothing logged as an error (the cause is a warning, once per kind),
    # and every connection went on answering (a pump that died on the outage left its connection
    # mute until the client's keep-alive gave up on it, 20 to 40 s later).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [r for r in caplog.records if "stopped answering pings" in r.getMessage()]
    assert any("the database refuses work" in r.getMessage() for r in caplog.records)
