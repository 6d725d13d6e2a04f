"""Periodic jobs run once across the cluster: of three ``passerelle serve`` processes on one
database, one holds the retention lease at a time (``passerelle_janitor_leader`` on ``/metrics``);
killed with SIGKILL, another takes it over within a janitor interval or two; stopped gracefully,
it hands it over at once."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from tests.cluster.lb import ProcessCluster, three_nodes
from tests.e2e.terminals import WAIT_S

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]
INTERVAL_S = 0.3
LEADER = re.compile(r"^passerelle_janitor_leader (\S+)$", re.MULTILINE)


async def leaders(c: ProcessCluster) -> set[str]:
    """The running nodes that say they hold the lease (each asked directly, not through HAProxy)."""
    found = set()
    async with httpx.AsyncClient() as http:
        for node in c.nodes:
            if node.alive:
                metrics = (await http.get(f"{node.url}/metrics")).text
                match = LEADER.search(metrics)
                assert match is not None, metrics
                if float(match.group(1)) == 1.0:
                    found.add(node.name)
    return found


async def one_leader(c: ProcessCluster, among: set[str]) -> str:
    """Wait until exactly one node holds the lease, and it is one of ``among``; stays so a while."""
    async with asyncio.timeout(WAIT_S):
        while True:
            held = await leaders(c)
            if len(held) == 1 and held <= among:
                break
            await asyncio.sleep(INTERVAL_S / 3)
    for _ in range(5):  # several janitor rounds: no second node takes it meanwhile
        await asyncio.sleep(INTERVAL_S)
        assert await leaders(c) == held
    return held.pop()


async def test_one_node_runs_the_janitor_and_another_takes_over_when_it_is_killed(tmp_path: Path) -> None:
    async with three_nodes(tmp_path, env={"PASSERELLE_JANITOR_INTERVAL_S": str(INTERVAL_S)}) as c:
        first = await one_leader(c, {"A", "B", "C"})

        await c.node(first).kill()  # SIGKILL: no unlock, the session just ends
        rest = {n.name for n in c.nodes if n.alive}
        second = await one_leader(c, rest)
        assert second != first

        await c.node(second).stop()  # SIGTERM: the lease is handed over on the way out
        last = await one_leader(c, rest - {second})

        await c.node(first).start()  # back: it waits its turn
        assert await one_leader(c, {last}) == last
