"""The per-account connection cap counts an account's connections on every node (Redis slots):
two ``passerelle serve`` processes (tests/cluster/lb.py), a cap of one connection per account and
slots living 4 s. A live node keeps its connection's slot past that time; a node killed with
SIGKILL refreshes nothing and frees nothing, and its slot stops counting once it expires."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.cluster.lb import three_nodes
from tests.e2e.terminals import WAIT_S
from tests.integration.test_multinode import closed_by_server
from tests.integration.wire import Wire, add_photo_device, register_photo

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]
TTL_S = 4.0


async def test_a_killed_nodes_connections_stop_counting_after_their_slots_expire(tmp_path: Path) -> None:
    config = tmp_path / "passerelle.toml"
    config.write_text(f"[limits]\nmax_connections_per_account = 1\nconnection_slot_ttl_s = {TTL_S}\n")
    async with three_nodes(tmp_path, ("A", "B"), args=("--config", str(config))) as c:
        a, b = c.node("A"), c.node("B")
        wires: list[Wire] = []
        async with httpx.AsyncClient(base_url=a.url) as on_a, httpx.AsyncClient(base_url=b.url) as on_b:
            try:
                phone = await register_photo(on_a, "alice")
                laptop = await add_photo_device(on_b, "alice", "laptop")
                wires += [phone, laptop]
                await phone.connect()  # on A: the account's one connection
                refused = await laptop.connect(expect_welcome=False)  # on B
                assert (refused["t"], refused["code"]) == ("error", "rate_limited")
                assert await closed_by_server(laptop) == 4008
                # A keeps its connection's slot alive past the slots' time to live.
                await asyncio.sleep(TTL_S + 1)
                assert (await again(laptop, wires).connect(expect_welcome=False))["code"] == "rate_limited"

                await a.kill()  # A's slot is no longer refreshed, nor released
                assert await closed_by_server(phone) is not None
                # Right after the kill, A's slot still counts (it lives TTL_S after A's last refresh)...
                assert (await again(laptop, wires).connect(expect_welcome=False))["code"] == "rate_limited"
                # ...then it expires and the laptop gets the account's place, with nobody releasing it.
                async with asyncio.timeout(WAIT_S):
                    while True:
                        await asyncio.sleep(0.5)  # (hellos per device: 1/s, bursts of 20)
                        answer = await again(laptop, wires).connect(expect_welcome=False)
                        if answer["t"] == "welcome":
                            break
                        assert answer["code"] == "rate_limited"
            finally:
                for wire in wires:
                    if wire.ws is not None:
                        await wire.ws.close()


def again(wire: Wire, wires: list[Wire]) -> Wire:
    """A fresh client for the same device, on the same node."""
    fresh = Wire(wire.base_url, wire.ws_url, wire.account, wire.device_id, wire.token, wire.keys)
    wires.append(fresh)
    return fresh
