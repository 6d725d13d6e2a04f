"""kill -9 of one of three nodes under load, behind HAProxy (tests/cluster/lb.py, load.py): SDK
clients send and receive continuously; the clients of the killed node reconnect through the load
balancer to the others; every message the server acknowledged is delivered exactly once to its
receiver's device (counted by id), none lost, none duplicated, nothing delivered that was not
acknowledged. The time for the cut clients to be back is printed (figures: benchmarks/README.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.cluster.lb import ProcessCluster, three_nodes
from tests.cluster.load import Load

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(120)]
CONNECTIONS = re.compile(r"^passerelle_ws_connections (\S+)$", re.MULTILINE)


async def busiest(c: ProcessCluster) -> str:
    """The running node holding the most authenticated WebSockets."""
    counts = {}
    async with httpx.AsyncClient() as http:
        for node in c.nodes:
            if node.alive:
                match = CONNECTIONS.search((await http.get(f"{node.url}/metrics")).text)
                assert match is not None
                counts[node.name] = float(match.group(1))
    return max(counts, key=lambda name: counts[name])


async def test_kill_9_of_a_node_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    async with three_nodes(tmp_path) as c, Load(c.url, tmp_path / "clients", pairs=4) as load:
        load.start()
        await load.until_acked(40, within_s=30)
        name = await busiest(c)
        await c.node(name).kill()
        killed_at = time.monotonic()
        await load.watch_reconnects(killed_at, within_s=30)
        await load.until_acked(40, within_s=30)  # the load goes on through the others
        report = await load.report()
    print(
        f"\nkill -9 of node {name} under load: {report.acked} acknowledged, {report.delivered} delivered,"
        f" {len(report.back_s)} clients cut, back p50 {report.percentile(50):.2f} s"
        f" p99 {report.percentile(99):.2f} s (max {max(report.back_s, default=0):.2f} s)"
    )
    report.check()
    assert report.back_s, "the killed node held no client: nothing was tested"
