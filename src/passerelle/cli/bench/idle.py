"""Scenario (e), idle connections: what an authenticated WebSocket that does nothing costs the
server in memory.

``idle_connections`` accounts (phone app, one device each: the server keeps one connection per
device) are registered first. Then, with the server otherwise idle, its VmRSS is read (the
median of three reads a second apart), every device connects and says ``hello`` (batches
of ``CONNECT_BATCH``), the connections stay idle ``IDLE_S`` seconds, and VmRSS is read again the
same way: memory per connection = (after − before) / connections. The server's CPU from the first
connect until after the idle pause, divided by the connections, is the CPU per connection (its
set-up: TCP, WebSocket upgrade, ``hello`` with the token lookup, ``welcome``; then idling).

Each connection needs a file descriptor on both sides of loopback: the soft RLIMIT_NOFILE is raised
towards the hard one (the server inherits it) and, when the hard limit is too low for the number
asked, the scenario holds as many connections as it allows and says so (``extra.limited_by``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import resource
import statistics
from time import perf_counter, perf_counter_ns

from passerelle.cli.bench.accounting import NO_MESSAGES
from passerelle.cli.bench.client import BenchSocket, Recorder, connect
from passerelle.cli.bench.figures import Interval, ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.procstat import clock_ticks_per_s, read_sample
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.server import bench_server
from passerelle.cli.bench.world import Meter

FD_MARGIN = 256
"""Descriptors kept for everything else (the database, HTTP clients, the log)."""
CONNECT_BATCH = 200
IDLE_S = 3.0
"""How long the connections stay idle before the second memory reading (shorter for a few)."""
RSS_READS = 3


def idle_seconds(connections: int) -> float:
    """``IDLE_S`` for thousands of connections; a fraction of a second for a handful (tests)."""
    return min(IDLE_S, max(0.3, connections / 5000))


def connections_allowed(wanted: int) -> tuple[int, int | None]:
    """Raise the soft descriptor limit towards ``wanted`` + a margin; return how many connections
    fit and the hard limit when it is what limits them (else None)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_MARGIN
    if hard == resource.RLIM_INFINITY:
        target = needed
    else:
        target = min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    allowed = min(wanted, max(target - FD_MARGIN, 1))
    return allowed, (hard if allowed < wanted else None)


async def steady_rss_kb(pid: int, pause_s: float) -> int:
    """The median of a few VmRSS reads ``pause_s`` apart."""
    values = []
    for i in range(RSS_READS):
        if i:
            await asyncio.sleep(pause_s)
        values.append((await asyncio.to_thread(read_sample, pid)).rss_kb)
    return int(statistics.median(values))


async def run_idle(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    count, limited_by = connections_allowed(options.idle_connections)
    label = "[e] idle connections"
    if limited_by is not None:
        reporter.say(
            f"{label}: {count} connections instead of {options.idle_connections}: "
            f"the file descriptor limit is {limited_by}"
        )
    async with CodeGateway().running() as codes, bench_server(options, codes) as server:
        reporter.say(f"{label}: server pid {server.pid} ready; registering {count} accounts")
        registered: list[int] = [0]
        async with reporter.track("register (accounts)", count, lambda: registered[0]):
            accounts = []
            for start in range(0, count, 1000):
                accounts += await register_phones(server.url, codes, min(1000, count - start), first=start)
                registered[0] = len(accounts)
        rec = Recorder()
        idle_s = idle_seconds(count)
        rss_before = await steady_rss_kb(server.pid, idle_s / RSS_READS)
        meter = Meter(server.pid)
        await meter.begin()
        sockets: list[BenchSocket] = []
        latencies: list[int] = []

        async def timed_connect(i: int) -> BenchSocket:
            start = perf_counter_ns()
            socket = await connect(server.ws_url, accounts[i], rec, ack_batch=options.ack_batch)
            latencies.append(perf_counter_ns() - start)
            return socket

        started = perf_counter()
        try:
            async with reporter.track("connect (connections)", count, lambda: len(sockets)):
                for first in range(0, count, CONNECT_BATCH):
                    async with asyncio.TaskGroup() as group:
                        tasks = [
                            group.create_task(timed_connect(i))
                            for i in range(first, min(first + CONNECT_BATCH, count))
                        ]
                    sockets += [t.result() for t in tasks]
            connect_s = perf_counter() - started
            async with reporter.timed("idle (s)", idle_s):
                await asyncio.sleep(idle_s)
            rss_after = await steady_rss_kb(server.pid, idle_s / RSS_READS)
            reading = await meter.end()
            still_open = sum(1 for s in sockets if not s.gone.done())
        finally:
            await asyncio.gather(*(s.close() for s in sockets))
    if still_open < count:
        rec.error("not_open_at_the_end", count - still_open)
    kb_per_connection = (rss_after - rss_before) / count
    extra = {
        "connections": count,
        "asked": options.idle_connections,
        "limited_by": f"file descriptor limit {limited_by}" if limited_by is not None else None,
        "rss_before_mb": rss_before / 1024,
        "rss_after_mb": rss_after / 1024,
        "kb_per_connection": kb_per_connection,
        "connect_s": connect_s,
        "idle_s": idle_s,
        "method": (
            f"VmRSS of the server process from /proc/<pid>/status, median of {RSS_READS} reads "
            f"{idle_s / RSS_READS:.2g} s apart, before the connects and after {idle_s:.2g} s idle; "
            "(after - before) / connections"
        ),
    }
    measured = Interval(
        seconds=connect_s,
        delivered=count,
        latencies_ns=latencies,
        server_cpu_ticks=reading.server_cpu_ticks,
        server_thread_ticks=reading.thread_ticks,
        clock_ticks_per_s=clock_ticks_per_s(),
        server_rss_kb=reading.end.rss_kb,
        server_peak_rss_kb=reading.end.peak_rss_kb,
        client_cpu_s=reading.client_cpu_s,
        counts=dataclasses.replace(NO_MESSAGES, errors=dict(rec.errors)),
        extra=extra,
    )
    figures = compute(measured, name="e", title=SCENARIO_TITLES["e"], unit="connection")
    if figures.ok:
        reporter.say(f"{label}: {count} connections, {kb_per_connection:.1f} KB of server memory each")
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures
