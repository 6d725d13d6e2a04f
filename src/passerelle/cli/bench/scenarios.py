"""The three scenarios. Each returns the ``Interval`` it measured; the world is already connected
(senders always; receivers too, except in (c) where being offline is the point).

(a) saturated: every sender keeps ``window`` sends in flight; measured for ``duration_s`` after a
    ``warmup_s`` warm-up. Latency is send → received by the recipient.
(b) open loop: ``rate`` messages per second in all, sent on a schedule whatever the answers; the
    latency runs from the scheduled instant, so a client or server that falls behind shows up.
(c) offline: ``offline_messages`` are stored for recipients that are not connected, then they all
    connect; measured from the connects until everything is delivered and the last acks were read.
    Latency here is the time from the connects to each message's arrival.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter_ns

from passerelle.cli.bench.client import Sender
from passerelle.cli.bench.figures import Interval, per_message_us
from passerelle.cli.bench.procstat import clock_ticks_per_s
from passerelle.cli.bench.world import World, interval

TICK_S = 0.001


async def saturated(world: World) -> Interval:
    opts, rec = world.options, world.recorder
    for sender in world.senders:
        sender.start_closed_loop(opts.window)
    await asyncio.sleep(opts.warmup_s)
    meter = world.meter()
    await meter.begin()
    rec.start()
    await asyncio.sleep(opts.duration_s)
    rec.stop()
    reading = await meter.end()
    for sender in world.senders:
        sender.stop()
    await world.settle()
    return interval(reading, rec, {"window": opts.window, "pairs": len(world.senders)})


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
        await asyncio.sleep(opts.warmup_s)
        meter = world.meter()
        await meter.begin()
        offered = schedule.sent
        rec.start()
        await asyncio.sleep(opts.duration_s)
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
    return interval(reading, rec, extra)


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole shares that differ by at most one."""
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


async def offline_drain(world: World) -> Interval:
    opts, rec = world.options, world.recorder
    senders = world.senders
    fill = world.meter()
    await fill.begin()
    for sender, limit in zip(senders, shares(opts.offline_messages, len(senders)), strict=True):
        sender.start_closed_loop(opts.window, limit=limit)
    await world.until(
        lambda: all(s.limit is not None and s.issued >= s.limit and s.in_flight <= 0 for s in senders)
    )
    filled = await fill.end()
    stored = world.sent_ok
    drain = world.meter()
    await drain.begin()
    rec.start(base_ns=perf_counter_ns())
    await world.connect_receivers()
    await world.until(lambda: rec.delivered_total >= stored)
    await world.acks_read()
    rec.stop()
    reading = await drain.end()
    if stored < opts.offline_messages:
        rec.error("not_stored", opts.offline_messages - stored)
    if rec.delivered_total < stored:
        rec.error("undelivered", stored - rec.delivered_total)
    fill_cpu_s = filled.server_cpu_ticks / clock_ticks_per_s()
    extra = {
        "stored": stored,
        "drain_s": reading.seconds,
        "fill_msgs_per_s": stored / filled.seconds if filled.seconds > 0 else 0.0,
        "fill_cpu_us_per_msg": per_message_us(fill_cpu_s, stored) or 0.0,
        "pairs": len(senders),
    }
    return interval(reading, rec, extra)


Scenario = Callable[[World], Awaitable[Interval]]
SCENARIO_RUNS: dict[str, tuple[Scenario, bool]] = {
    "a": (saturated, True),
    "b": (open_loop, True),
    "c": (offline_drain, False),
}
"""Each scenario and whether its receivers are connected before it starts."""
