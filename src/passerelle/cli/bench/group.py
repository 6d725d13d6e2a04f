"""Scenario (d), group fan-out: one sender, a group of ``members`` online devices of three apps.

The sender sends ``group_sends`` messages one after the other, each a Megolm-shaped body whose
ciphertext is ``body_bytes`` long (``send`` with ``conv`` and ``body``: the server stores it once and fans it out). For each, the
time from the send until the last member received it is one latency sample (so the percentiles come
from ``group_sends`` samples); the server's CPU over
all the sends is divided by the deliveries (CPU per recipient delivery). Receivers ack as in the
other scenarios (``ack_batch``), and that work is counted too.

A thousand connections need as many descriptors on each side of loopback: the soft RLIMIT_NOFILE is
raised towards the hard one before the server starts (the server inherits it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import resource
from collections.abc import Sequence
from time import perf_counter_ns

import httpx

from passerelle.cli.bench.accounting import Counts, undelivered
from passerelle.cli.bench.client import BenchSocket, Recorder, connect
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import Interval, ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_members
from passerelle.cli.bench.identity import BenchAccount
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.server import bench_server, commit_figures
from passerelle.cli.bench.world import Meter, interval, wait_until
from passerelle.proto.rest import groups
from passerelle.proto.rest.base import decode, encode

APPS = ("photo", "chat", "social")
CONNECT_BATCH = 100
PAUSE_S = 0.01
"""Between two group sends, so that each one's latency is its own."""


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            raise BenchError(f"scenario d needs {needed} file descriptors; the hard limit is {hard}")


def group_frame(seq: int, *, conv: str, sender: BenchAccount, body_bytes: int) -> bytes:
    """A ``send`` of a Megolm-shaped body with ``body_bytes`` of random ciphertext."""
    head = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": sender.curve25519,
        "device_id": sender.device_id,
        "session_id": base64.b64encode(os.urandom(32)).decode().rstrip("="),
        "ciphertext": "",
    }
    head["ciphertext"] = base64.b64encode(os.urandom(body_bytes)).decode()[:body_bytes]
    body = json.dumps(head, separators=(",", ":"))
    return b'{"t":"send","id":"g%x","conv":"%s","body":%s}' % (seq, conv.encode(), body.encode())


async def create_group(url: str, sender: BenchAccount, members: Sequence[BenchAccount]) -> str:
    body = encode(groups.CreateGroup(members=[m.account_id for m in members]))
    headers = {"authorization": f"Bearer {sender.token}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
        response = await http.post("/v1/groups", content=body, headers=headers)
    if response.status_code != 201:
        raise BenchError(f"creating the group failed: HTTP {response.status_code} {response.text[:300]}")
    return decode(response.content, groups.GroupInfo).conv


async def connect_all(
    url: str, accounts: Sequence[BenchAccount], recorder: Recorder, ack_batch: int
) -> list[BenchSocket]:
    sockets: list[BenchSocket] = []
    for start in range(0, len(accounts), CONNECT_BATCH):
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(connect(url, a, recorder, ack_batch=ack_batch))
                for a in accounts[start : start + CONNECT_BATCH]
            ]
        sockets += [t.result() for t in tasks]
    return sockets


async def run_group(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    members = options.members
    raise_fd_limit(2 * members + 256)
    label = "[d] group fan-out"
    async with CodeGateway().running() as codes, bench_server(options, codes) as server:
        reporter.say(
            f"{label}: server pid {server.pid} ready; registering {members + 1} accounts of {len(APPS)} apps"
        )
        sender, accounts = await register_members(server.url, codes, members)
        conv = await create_group(server.url, sender, accounts)
        recorder = Recorder()
        reporter.say(f"{label}: connecting {members + 1} devices")
        sockets = await connect_all(server.ws_url, [sender, *accounts], recorder, options.ack_batch)
        try:
            measured = await _measure(server.pid, sockets, recorder, conv, sender, options, reporter)
        finally:
            await asyncio.gather(*(s.close() for s in sockets))
        commits = await commit_figures(server.url)
    measured = dataclasses.replace(measured, extra={**measured.extra, **commits})
    figures = compute(measured, name="d", title=SCENARIO_TITLES["d"], unit="delivery")
    if figures.ok:
        reporter.say(
            f"{label}: {figures.units} deliveries, p99 to the last member {figures.p99_ms or 0:.1f} ms "
            f"({figures.samples} samples)"
        )
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures


def group_counts(origin: BenchSocket, receivers: Sequence[BenchSocket], sent: int, rec: Recorder) -> Counts:
    """Every group message accounted for: each confirmed one is owed to every member's device."""
    confirmed = origin.confirmed
    return Counts(
        sent=sent,
        confirmed=len(confirmed),
        expected=len(confirmed) * len(receivers),
        delivered=sum(len(r.inbox.seen) for r in receivers),
        undelivered=undelivered((confirmed, r.inbox.seen) for r in receivers),
        duplicated=sum(r.inbox.duplicates for r in receivers),
        unanswered=max(sent - origin.replies, 0),
        rejected=dict(rec.rejected),
        errors=dict(rec.errors),
    )


async def _measure(
    pid: int,
    sockets: list[BenchSocket],
    rec: Recorder,
    conv: str,
    sender: BenchAccount,
    opts: BenchOptions,
    reporter: Reporter,
) -> Interval:
    origin, receivers = sockets[0], sockets[1:]
    frames = [
        group_frame(k, conv=conv, sender=sender, body_bytes=opts.body_bytes) for k in range(opts.group_sends)
    ]
    expected = rec.delivered_total
    last_ns: list[int] = []
    meter = Meter(pid)
    await meter.begin()
    delivered = 0
    sent = 0
    bins: list[int] = []
    start_ns = perf_counter_ns()
    async with reporter.track("sends", len(frames), lambda: len(last_ns)):
        for frame in frames:
            expected += len(receivers)
            start = perf_counter_ns()
            rec.start(base_ns=start)
            origin.send(frame)
            sent += 1
            done = await wait_until(
                lambda target=expected: (
                    rec.delivered_total >= target or origin.lost or rec.aborted is not None
                ),  # type: ignore[misc]
                rec.changed,
                opts.drain_timeout_s,
            )
            if not done or rec.delivered_total < expected:
                break
            delivered += rec.delivered
            last_ns.append(max(rec.latencies_ns))
            index = (perf_counter_ns() - start_ns) // rec.bin_ns
            while len(bins) <= index:
                bins.append(0)
            bins[index] += rec.delivered
            await asyncio.sleep(PAUSE_S)
    for socket in receivers:
        socket.flush_ack()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(opts.drain_timeout_s):
            await asyncio.gather(origin.ping(), *(s.ping() for s in receivers))
    reading = await meter.end()
    rec.stop()
    rec.delivered = delivered
    rec.latencies_ns = last_ns
    rec.bins = bins
    counts = group_counts(origin, receivers, sent, rec)
    extra = {"members": len(receivers), "sends": len(last_ns), "pause_ms": PAUSE_S * 1000}
    return interval(reading, rec, extra, counts=counts)
