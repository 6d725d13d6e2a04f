"""Three ``passerelle serve`` processes behind HAProxy (tests/cluster/lb.py): any node serves any
client through the load balancer, WebSockets pass through it, and its health checks follow each
node's ``/readyz`` (a node shutting down or killed gets no new clients)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from passerelle.sdk import Client, Message
from tests.cluster.lb import three_nodes
from tests.e2e.terminals import WAIT_S

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]
PW = "correct horse battery"


async def test_clients_through_the_balancer_talk_across_nodes_and_a_stopping_node_is_taken_out(
    tmp_path: Path,
) -> None:
    async with three_nodes(tmp_path) as c:
        # HAProxy spreads REST requests over the three nodes (leastconn, all idle: in turn).
        alice = await Client.register(c.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
        bob = await Client.register(c.url, tmp_path / "bob", app="photo", handle="bob", password=PW)
        got: list[str] = []
        arrived = asyncio.Event()

        def on_message(message: Message) -> None:
            if not message.outgoing:
                got.append(message.text)
                arrived.set()

        bob.on_message(on_message)
        try:
            await alice.connect()
            await bob.connect()
            await alice.send_text(bob.account_id, "hello through haproxy")
            async with asyncio.timeout(WAIT_S):
                await arrived.wait()
            assert got == ["hello through haproxy"]

            # A node told to stop turns unready first; HAProxy stops sending it anyone.
            b = c.node("B")
            await b.stop()
            await c.lb.wait_up({"A", "C"})
            async with httpx.AsyncClient(base_url=c.url) as http:
                for _ in range(6):
                    assert (await http.get("/readyz")).status_code == 200
            # The clients on B (if any) reconnected through the balancer; messages still flow.
            arrived.clear()
            await alice.send_text(bob.account_id, "still here")
            async with asyncio.timeout(WAIT_S):
                while "still here" not in got:
                    await arrived.wait()
                    arrived.clear()
            assert got == ["hello through haproxy", "still here"]
        finally:
            await alice.close()
            await bob.close()
