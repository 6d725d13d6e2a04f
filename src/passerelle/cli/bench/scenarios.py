"""The pair scenarios. Each returns the ``Interval`` it measured; the world is already connected
(senders always; receivers too, except in (c) where being offline is the point).

(a) closed loop: every sender keeps ``window`` messages in flight, refilled when its receiver gets
    one (``refill="received"``) or when the server confirms one (``"sent"``); measured for
    ``duration_s`` after a ``warmup_s`` warm-up. Latency is send → received by the recipient. (a′)
    is the same with ``many_pairs`` pairs.
(b) open loop: ``rate`` messages per second in all, sent on a schedule whatever the answers; the
    latency runs from the scheduled instant, so a client or server that falls behind shows up.
(c) offline: ``offline_messages`` are stored for recipients that are not connected (the *store*
    phase), then they all connect (the *drain* phase: from the connects until everything is
    delivered and the last acks were read). Both phases are reported side by side; the latency is
    the time from the connects to each message's arrival.

Every scenario stops at the first send the server rejects as ``rate_limited`` (the load exceeds what
it admits) and is then a failed run; so is one that lost, duplicated or left unanswered a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter_ns
from typing import Any

from passerelle.cli.bench.client import Sender
from passerelle.cli.bench.figures import Interval, cpu_split
from passerelle.cli.bench.procstat import clock_ticks_per_s
from passerelle.cli.bench.world import Reading, World, interval

TICK_S = 0.001


async def closed_loop(world: World) -> Interval:
    opts, rec = world.options, world.recorder
    on_receipt = opts.refill == "received"
    for sender, receiver in zip(world.senders, world.receivers, strict=True):
        sender.start_closed_loop(opts.window, receiver=receiver if on_receipt else None)
    async with world.reporter.timed("warm-up (s)", opts.warmup_s):
        await world.run_for(opts.warmup_s)
    meter = world.meter()
    await meter.begin()
    rec.start()
    async with world.reporter.timed("measuring (s)", opts.duration_s):
        await world.run_for(opts.duration_s)
    rec.stop()
    reading = await meter.end()
    for sender in world.senders:
        sender.stop()
    await world.settle()
    extra = {"window": opts.window, "refill": opts.refill, "pairs": len(world.senders)}
    return interval(reading, rec, extra, counts=world.counts())


class Schedule:
    """Sends message k at t0 + k / rate, round robin over the senders, stamped with that instant."""

    def __init__(self, senders: Sequence[Sender], rate: float) -> None:
        self.senders = senders
        self.step_ns = 1e9 / rate
        self.sent = 0
        self.running = True

    async def run(self) -> None:
        senders, count, step = self.senders, len(self.senders), self.step_ns
        t0 = perf_counter_ns()
        while self.running:
            due = int((perf_counter_ns() - t0) / step) + 1
            k = self.sent
            while k < due:
                senders[k % count].send(t0 + int(k * step))
                k += 1
            self.sent = k
            await asyncio.sleep(TICK_S)


async def open_loop(world: World) -> Interval:
    opts, rec = world.options, world.recorder
    schedule = Schedule(world.senders, opts.rate)
    task = asyncio.create_task(schedule.run(), name="bench-schedule")
    try:
        async with world.reporter.timed("warm-up (s)", opts.warmup_s):
            await world.run_for(opts.warmup_s)
        meter = world.meter()
        await meter.begin()
        offered = schedule.sent
        rec.start()
        async with world.reporter.timed("measuring (s)", opts.duration_s):
            await world.run_for(opts.duration_s)
        rec.stop()
        reading = await meter.end()
        offered = schedule.sent - offered
    finally:
        schedule.running = False
        await task
    await world.settle()
    extra = {
        "target_per_s": opts.rate,
        "offered_per_s": offered / reading.seconds,
        "pairs": len(world.senders),
    }
    return interval(reading, rec, extra, counts=world.counts())


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole shares that differ by at most one."""
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def phase(reading: Reading, messages: int) -> dict[str, Any]:
    """One phase of (c): its rate and the server's CPU per message, in all and per thread."""
    cpu, threads = cpu_split(reading.server_cpu_ticks, reading.thread_ticks, clock_ticks_per_s(), messages)
    return {
        "messages": messages,
        "seconds": reading.seconds,
        "per_s": messages / reading.seconds if reading.seconds > 0 else 0.0,
        "cpu_us_per_msg": cpu,
        "cpu_us_per_msg_by_thread": threads,
    }


async def offline_drain(world: World) -> Interval:
    opts, rec = world.options, world.recorder
    senders = world.senders
    fill = world.meter()
    await fill.begin()
    for sender, limit in zip(senders, shares(opts.offline_messages, len(senders)), strict=True):
        sender.start_closed_loop(opts.window, limit=limit)
    async with world.reporter.track("store (messages)", opts.offline_messages, lambda: world.sent_ok):
        await world.until(
            lambda: (
                rec.aborted is not None
                or all(s.limit is not None and s.issued >= s.limit and s.in_flight <= 0 for s in senders)
            ),
            lambda: world.replies,
        )
    stored_reading = await fill.end()
    for sender in senders:
        sender.stop()
    stored = world.sent_ok
    drain = world.meter()
    await drain.begin()
    rec.start(base_ns=perf_counter_ns())
    async with world.reporter.track("drain (messages)", stored, lambda: rec.delivered_total):
        await world.connect_receivers()
        await world.until(lambda: rec.delivered_total >= stored, lambda: rec.delivered_total)
        await world.acks_read()
    rec.stop()
    reading = await drain.end()
    await world.settle()
    extra = {"stored": stored, "pairs": len(senders), "window": opts.window}
    phases = {"store": phase(stored_reading, stored), "drain": phase(reading, rec.delivered)}
    return interval(reading, rec, extra, counts=world.counts(), phases=phases)


Scenario = Callable[[World], Awaitable[Interval]]
SCENARIO_RUNS: dict[str, tuple[Scenario, bool]] = {
    "a": (closed_loop, True),
    "a2": (closed_loop, True),
    "b": (open_loop, True),
    "c": (offline_drain, False),
}
"""Each pair scenario and whether its receivers are connected before it starts."""
