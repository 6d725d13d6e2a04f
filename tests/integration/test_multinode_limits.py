"""Limits hold across nodes: two real servers share their rate limits through Redis, so a client
that spreads its attempts over both gets one budget, not one per node.

Node A's clients use its ASGI gateway, node B's its picows one (tests/integration/cluster.py).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from passerelle.domain.limits import Limits
from tests.integration.cluster import cluster
from tests.integration.wire import register_photo
from tests.unit.service.fakes import TestDevice

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(60)]


async def bad_hello(ws_url: str) -> tuple[dict[str, Any], int | None]:
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "token": secrets.token_urlsafe(32)}))
        frame = json.loads(await ws.recv())
        await ws.wait_closed()
    return frame, ws.close_code


async def test_bad_hellos_and_wrong_passwords_spread_over_two_nodes_share_one_budget(tmp_path: Path) -> None:
    limits = Limits(failed_hellos_per_window=4, failed_hello_window_s=600, logins_per_window=3)
    async with cluster(tmp_path, limits=limits) as c:
        a, b = c.nodes
        codes = [(await bad_hello(node.ws_url))[1] for node in (a, b, a, b, a, b)]
        # Four bad hellos per address in all: per node, all six would have been answered 4001.
        assert codes == [4001, 4001, 4001, 4001, 4008, 4008]

        alice = c.on(a, await register_photo(a.http, "alice"))
        statuses = []
        for node in (a, b, a, b):
            body = {
                "app": "photo",
                "handle": "alice",
                "password": "wrong password",
                "device": TestDevice("x").keys_json(),
            }
            statuses.append((await node.http.post("/v1/devices", json=body)).status_code)
        # Three logins per address: the registration through A, then two wrong passwords (each node
        # counting on its own would have allowed all four).
        assert statuses == [401, 401, 429, 429]
        # The budget is this address's: a good token is refused too, on either node...
        async with connect(b.ws_url) as ws:
            await ws.send(json.dumps({"t": "hello", "token": alice.token}))
            frame = json.loads(await ws.recv())
            await ws.wait_closed()
        assert (frame["code"], ws.close_code) == ("rate_limited", 4008)
