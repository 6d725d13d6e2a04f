"""The set-up a scenario runs in: the server's process, the pairs of connected devices, and a meter
that samples the server's CPU time and memory around a measured interval."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from passerelle.cli.bench.accounting import Counts, undelivered
from passerelle.cli.bench.client import BenchSocket, Recorder, Sender, connect
from passerelle.cli.bench.envelopes import SendFrames
from passerelle.cli.bench.figures import Interval
from passerelle.cli.bench.identity import BenchAccount
from passerelle.cli.bench.options import BenchOptions
from passerelle.cli.bench.procstat import (
    ProcSample,
    clock_ticks_per_s,
    own_cpu_s,
    read_sample,
    reset_peak_rss,
)
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.server import ServerHandle


async def wait_until(done: Callable[[], bool], changed: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``done`` holds (True) or ``timeout_s`` passes (False); ``changed`` is set by whatever
    may make it hold."""
    try:
        async with asyncio.timeout(timeout_s):
            while not done():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        return done()
    return True


@dataclass(frozen=True, slots=True)
class Reading:
    seconds: float
    server_cpu_ticks: int
    thread_ticks: dict[str, int]
    client_cpu_s: float
    end: ProcSample


class Meter:
    """Server CPU (from /proc), client CPU and wall time between ``begin`` and ``end``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._start: tuple[float, ProcSample, float] | None = None

    async def begin(self) -> None:
        await asyncio.to_thread(reset_peak_rss, self.pid)
        sample = await asyncio.to_thread(read_sample, self.pid)
        self._start = (perf_counter(), sample, own_cpu_s())

    async def end(self) -> Reading:
        assert self._start is not None, "begin() first"
        elapsed = perf_counter() - self._start[0]
        client = own_cpu_s() - self._start[2]
        sample = await asyncio.to_thread(read_sample, self.pid)
        before = self._start[1].threads
        return Reading(
            seconds=elapsed,
            server_cpu_ticks=sample.cpu_ticks - self._start[1].cpu_ticks,
            thread_ticks={name: ticks - before.get(name, 0) for name, ticks in sample.threads.items()},
            client_cpu_s=client,
            end=sample,
        )


def interval(
    reading: Reading,
    recorder: Recorder,
    extra: Mapping[str, Any],
    *,
    counts: Counts,
    phases: Mapping[str, Mapping[str, Any]] | None = None,
) -> Interval:
    aborted = None
    if recorder.aborted is not None:
        aborted = (
            f"the server rejected {recorder.rejected.get(recorder.aborted, 0)} sends as "
            f"{recorder.aborted}: this load exceeds what it admits (its limits), so there is no figure; "
            "lower --window or --pairs"
        )
    return Interval(
        seconds=reading.seconds,
        delivered=recorder.delivered,
        latencies_ns=recorder.latencies_ns,
        counts=counts,
        aborted=aborted,
        series=list(recorder.bins),
        phases=phases or {},
        server_cpu_ticks=reading.server_cpu_ticks,
        server_thread_ticks=reading.thread_ticks,
        clock_ticks_per_s=clock_ticks_per_s(),
        server_rss_kb=reading.end.rss_kb,
        server_peak_rss_kb=reading.end.peak_rss_kb,
        client_cpu_s=reading.client_cpu_s,
        extra=extra,
    )


@dataclass
class World:
    server: ServerHandle
    options: BenchOptions
    recorder: Recorder
    sender_accounts: Sequence[BenchAccount]
    receiver_accounts: Sequence[BenchAccount]
    senders: list[Sender] = field(default_factory=list)
    receivers: list[BenchSocket] = field(default_factory=list)
    reporter: Reporter = field(default_factory=Reporter)

    def meter(self) -> Meter:
        return Meter(self.server.pid)

    async def connect_senders(self) -> None:
        sockets = await self._connect_all(self.sender_accounts)
        for socket, me, peer in zip(sockets, self.sender_accounts, self.receiver_accounts, strict=True):
            frames = SendFrames(
                sender_key=me.curve25519,
                recipient_account=peer.account_id,
                recipient_device=peer.device_id,
                recipient_key=peer.curve25519,
                body_bytes=self.options.body_bytes,
            )
            self.senders.append(Sender(socket, frames))

    async def connect_receivers(self) -> None:
        self.receivers.extend(await self._connect_all(self.receiver_accounts))

    async def _connect_all(self, accounts: Sequence[BenchAccount]) -> list[BenchSocket]:
        url, rec, batch = self.server.ws_url, self.recorder, self.options.ack_batch
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(connect(url, a, rec, ack_batch=batch)) for a in accounts]
        return [task.result() for task in tasks]

    @property
    def sent_ok(self) -> int:
        return sum(sender.socket.sent_ok for sender in self.senders)

    @property
    def replies(self) -> int:
        return sum(sender.socket.replies for sender in self.senders)

    @property
    def lost(self) -> bool:
        """Whether a connection was lost: what it was waiting for will not come."""
        return any(s.socket.lost for s in self.senders) or any(r.lost for r in self.receivers)

    async def until(self, done: Callable[[], bool], progress: Callable[[], int] | None = None) -> bool:
        """Wait until ``done`` holds, a connection is lost, or ``drain_timeout_s`` passes (with
        ``progress``: passes without ``progress()`` moving, however long the whole wait)."""
        while True:
            mark = progress() if progress is not None else None
            finished = await wait_until(
                lambda: done() or self.lost, self.recorder.changed, self.options.drain_timeout_s
            )
            if finished or self.lost or progress is None or progress() == mark:
                return done()

    async def settle(self) -> None:
        """After the senders stopped: wait (bounded) for every reply and every delivery (what is still
        missing then is counted by ``counts``), then until the receivers' last acks were read."""
        rec, senders = self.recorder, self.senders
        await self.until(lambda: all(s.in_flight <= 0 for s in senders), lambda: self.replies)
        await self.until(lambda: rec.delivered_total >= self.sent_ok, lambda: rec.delivered_total)
        if self.receivers:
            await self.acks_read()

    def counts(self) -> Counts:
        """Every message of the scenario accounted for, by message id, pair by pair."""
        senders, receivers = self.senders, self.receivers
        confirmed = sum(len(s.socket.confirmed) for s in senders)
        routes = [(s.socket.confirmed, r.inbox.seen) for s, r in zip(senders, receivers, strict=False)] + [
            (s.socket.confirmed, set()) for s in senders[len(receivers) :]
        ]
        return Counts(
            sent=sum(s.issued for s in senders),
            confirmed=confirmed,
            expected=confirmed,
            delivered=sum(len(r.inbox.seen) for r in receivers),
            undelivered=undelivered(routes),
            duplicated=sum(r.inbox.duplicates for r in receivers),
            unanswered=sum(max(s.in_flight, 0) for s in senders),
            rejected=dict(self.recorder.rejected),
            errors=dict(self.recorder.errors),
        )

    async def run_for(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the server starts rejecting sends (``Recorder.aborted``)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.recorder.stopped.wait()

    async def acks_read(self) -> None:
        """Send every receiver's last ack and wait until the server has read it (ping, pong)."""
        for socket in self.receivers:
            socket.flush_ack()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.options.drain_timeout_s):
                await asyncio.gather(*(socket.ping() for socket in self.receivers))

    async def close(self) -> None:
        for sender in self.senders:
            sender.stop()
        sockets = [sender.socket for sender in self.senders] + self.receivers
        await asyncio.gather(*(socket.close() for socket in sockets))
