"""Graceful shutdown of ``passerelle serve`` (docs/operations.md): SIGTERM while a client sends.

``/readyz`` turns 503 first while the WebSockets stay open; then the node finishes what it accepted
and closes every WebSocket with 1012; it exits 0. Restarted on the same data directory, every
message whose ``sent`` the sender got reaches the recipient once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from passerelle.sdk import Client, Message
from tests.e2e.terminals import WAIT_S, Terminals
from tests.ports import reserved_port

PW = "correct horse battery"
GRACE_S = 1.0
RESTART_LOG = "the server is restarting (close 1012); reconnecting now"


async def until(condition: Callable[[], bool], *, sender: asyncio.Task[None] | None = None) -> None:
    """Wait, polling with a timeout, until ``condition()`` is true (a failed ``sender`` raises)."""
    async with asyncio.timeout(WAIT_S):
        while not condition():
            if sender is not None and sender.done():
                sender.result()
            await asyncio.sleep(0.01)


async def test_sigterm_drains_says_1012_and_loses_nothing(
    no_server: Terminals, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="passerelle.sdk.core.transport")
    no_server.env["PASSERELLE_SHUTDOWN_GRACE_S"] = str(GRACE_S)
    no_server.env["PASSERELLE_SHUTDOWN_TIMEOUT_S"] = "10"
    port = reserved_port()
    await no_server.serve(port=port)
    first = no_server.server
    assert first is not None
    url = no_server.url
    alice = await Client.register(url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    carol = await Client.register(url, tmp_path / "carol", app="photo", handle="carol", password=PW)
    received: list[str] = []

    def on_message(message: Message) -> None:
        if not message.outgoing and message.id is not None:
            received.append(str(message.id))

    carol.on_message(on_message)
    acked: list[str] = []
    stop = asyncio.Event()

    async def send_continuously() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            sent = await alice.send_text(carol.account_id, f"message {n}")
            acked.append(str(sent.id))

    def restarts_seen() -> int:
        return sum(RESTART_LOG in r.getMessage() for r in caplog.records)

    await alice.connect()
    await carol.connect()
    sender = asyncio.create_task(send_continuously())
    try:
        await until(lambda: len(acked) >= 20, sender=sender)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/readyz")).status_code == 200
            first.process.terminate()  # SIGTERM
            async with asyncio.timeout(WAIT_S):
                while (await http.get(f"{url}/readyz")).status_code != 503:
                    pass
            # Unready, but still serving: the WebSockets are open and messages still flow.
            assert (await http.get(f"{url}/healthz")).status_code == 200
            assert restarts_seen() == 0
            before = len(acked)
            await until(lambda: len(acked) > before + 5, sender=sender)
            assert restarts_seen() == 0
        stopping = time.monotonic()
        await until(lambda: restarts_seen() >= 2, sender=sender)  # both clients were told 1012
        assert await first.exit_status() == 0
        assert time.monotonic() - stopping < GRACE_S + 10
        acked_before_restart = len(acked)

        await no_server.serve(port=port)  # the same data directory
        await until(lambda: len(acked) >= acked_before_restart + 20, sender=sender)
        stop.set()
        await sender
        await until(lambda: set(acked) <= set(received))
    finally:
        stop.set()
        if not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await alice.close()
        await carol.close()
    assert len(acked) == len(set(acked))
    duplicated = [mid for mid, count in Counter(received).items() if count > 1]
    assert duplicated == []
    assert len(received) == len(acked)
    assert first.output().count("shutting down: no new connections") == 1
