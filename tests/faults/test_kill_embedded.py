"""kill -9 of a single embedded (SQLite) server under load, then a restart on the same data directory.

Three pairs of SDK clients write to each other continuously; the server process is killed with
SIGKILL (no shutdown, no drain: whatever it held in memory is gone) and started again on the same
data directory and port. The clients reconnect by themselves. Every message whose ``send_text``
returned reaches its recipient exactly once, and nothing arrives that was not sent.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from passerelle.sdk import Client
from tests.e2e.terminals import Terminals
from tests.faults.traffic import Traffic, both_ways
from tests.ports import reserved_port

PW = "correct horse battery"

pytestmark = pytest.mark.timeout(180)


async def test_kill_9_under_load_then_restart_loses_and_duplicates_nothing(
    no_server: Terminals, tmp_path: Path
) -> None:
    port = reserved_port()
    await no_server.serve(port=port)
    url = no_server.url
    people = [
        await Client.register(url, tmp_path / name, app="photo", handle=name, password=PW)
        for name in ("alice", "bob", "carol", "dave", "erin", "frank")
    ]
    try:
        for person in people:
            await person.connect()
        a, b, c, d, e, f = people
        async with Traffic(both_ways(("ab", a, b), ("cd", c, d), ("ef", e, f))) as traffic:
            for _ in range(2):  # twice: the second kill finds a database that was recovered once
                await traffic.until_acked(60)
                server = no_server.server
                assert server is not None
                server.process.kill()  # SIGKILL
                assert await server.exit_status() == -signal.SIGKILL
                await no_server.serve(port=port)  # the same data directory
            await traffic.until_acked(60)
            await traffic.stop()
            figures = traffic.check()
    finally:
        for person in people:
            await person.close()
    print(f"kill -9 of the embedded server: {figures}")
    assert figures.lost == figures.duplicated == figures.invented == 0
