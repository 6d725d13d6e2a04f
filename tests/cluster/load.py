"""SDK clients under continuous load through the load balancer, for the fault tests and the soak
(benchmarks/cluster_soak.py): pairs of people, each sender sending text after text to its receiver
(one message in flight per pair, the next sent when the last is acknowledged), every acknowledged
id and every delivered id counted, and each client's time to be back after a node is killed.

What is checked (``LoadReport.check``): every message the server acknowledged was delivered to its
receiver's device exactly once (counted by message id), and nothing was delivered that the sender
was not told was stored — none lost, none duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from passerelle.sdk import Client, Message

PW = "correct horse battery"
POLL_S = 0.005


@dataclass
class Pair:
    sender: Client
    receiver: Client
    acked: list[str] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)


@dataclass
class LoadReport:
    acked: int
    delivered: int
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    back_s: list[float]
    """For each client whose connection the kill cut: seconds from the kill to its next welcome."""
    clients: int
    seconds: float

    def check(self) -> None:
        assert self.acked > 0, "no message was acknowledged"
        assert (self.lost, self.duplicated, self.unexpected) == ([], [], [])

    def percentile(self, p: float) -> float:
        ordered = sorted(self.back_s)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Load:
    """``pairs`` pairs of registered, connected clients on ``url``; ``start`` the senders, ``stop``
    them, ``report`` once every acknowledged message had time to arrive."""

    def __init__(self, url: str, folder: Path, pairs: int) -> None:
        self.url = url
        self.folder = folder
        self.size = pairs
        self.pairs: list[Pair] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._changed = asyncio.Event()
        """Set at every acknowledgement and every delivery (what the waits below wait for)."""
        self.back_s: list[float] = []

    async def __aenter__(self) -> Load:
        for n in range(self.size):
            sender = await self._client(f"sender{n}")
            receiver = await self._client(f"receiver{n}")
            pair = Pair(sender, receiver)

            def on_message(message: Message, pair: Pair = pair) -> None:
                if not message.outgoing and message.id is not None:
                    pair.received[str(message.id)] += 1
                    self._changed.set()

            receiver.on_message(on_message)
            self.pairs.append(pair)
        for client in self.clients:
            await client.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()

    async def _client(self, handle: str) -> Client:
        return await Client.register(self.url, self.folder / handle, app="photo", handle=handle, password=PW)

    @property
    def clients(self) -> list[Client]:
        return [c for p in self.pairs for c in (p.sender, p.receiver)]

    def start(self) -> None:
        self._started = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._send(p), name=f"sender {n}") for n, p in enumerate(self.pairs)
        ]

    async def _send(self, pair: Pair) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            sent = await pair.sender.send_text(pair.receiver.account_id, f"message {n}")
            pair.acked.append(str(sent.id))
            self._changed.set()

    def acked(self) -> int:
        """Messages acknowledged so far (a sender that failed raises here)."""
        for task in self._tasks:
            if task.done():
                task.result()
        return sum(len(p.acked) for p in self.pairs)

    async def until_acked(self, more: int, within_s: float) -> None:
        """Wait for ``more`` acknowledgements than now."""
        target = self.acked() + more
        async with asyncio.timeout(within_s):
            while self.acked() < target:
                await self._next_change()

    async def _next_change(self) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):  # now and then, to see a sender that failed
            async with asyncio.timeout(1.0):
                await self._changed.wait()

    async def watch_reconnects(self, killed_at: float, within_s: float) -> None:
        """Follow every client from a kill: one that was cut (seen disconnected) counts its time to
        be back (connected again, after its welcome). Returns when every cut client is back and no
        other has been cut for a while (the kill's closes all arrived)."""
        down: dict[int, bool] = {}
        quiet_since = time.monotonic()
        async with asyncio.timeout(within_s):
            while True:
                now = time.monotonic()
                for i, client in enumerate(self.clients):
                    if not client.connected and i not in down:
                        down[i] = True
                        quiet_since = now
                    elif client.connected and down.get(i):
                        down[i] = False
                        self.back_s.append(now - killed_at)
                if not any(down.values()) and now - quiet_since > 1.0:
                    return
                await asyncio.sleep(POLL_S)

    async def stop(self) -> None:
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task  # the send in flight finishes (acknowledged or raised)

    async def report(self, within_s: float = 30.0) -> LoadReport:
        """Stop, wait until every acknowledged message arrived (or ``within_s``), and count."""
        await self.stop()
        seconds = time.monotonic() - self._started
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                while any(set(p.acked) - set(p.received) for p in self.pairs):
                    await self._next_change()
        await asyncio.sleep(0.5)  # a late duplicate would show up now
        lost = [m for p in self.pairs for m in p.acked if m not in p.received]
        duplicated = [m for p in self.pairs for m, count in p.received.items() if count > 1]
        unexpected = [m for p in self.pairs for m in p.received if m not in set(p.acked)]
        return LoadReport(
            acked=sum(len(p.acked) for p in self.pairs),
            delivered=sum(p.received.total() for p in self.pairs),
            lost=lost,
            duplicated=duplicated,
            unexpected=unexpected,
            back_s=self.back_s,
            clients=len(self.clients),
            seconds=seconds,
        )
