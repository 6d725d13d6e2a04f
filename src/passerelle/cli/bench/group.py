"""Scenario (d), group fan-out: one sender, a group of ``members`` online devices of three apps.

The sender sends ``group_sends`` messages one after the other, each a ~``envelope_bytes`` Megolm-shaped
body (``send`` with ``conv`` and ``body``: the server stores it once and fans it out). For each, the
time from the send until the last member received it is one latency sample; the server's CPU over
all the sends is divided by the deliveries (CPU per recipient delivery). Receivers ack as in the
other scenarios (``ack_batch``), and that work is counted too.

A thousand connections need as many descriptors on each side of loopback: the soft RLIMIT_NOFILE is
raised towards the hard one before the server starts (the server inherits it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
from collections.abc import Sequence
from time import perf_counter_ns

import httpx

from passerelle.cli.bench.client import BenchSocket, Recorder, connect
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import Interval, ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_members
from passerelle.cli.bench.identity import BenchAccount
from passerelle.cli.bench.options import BenchOptions
from passerelle.cli.bench.server import spawned_server
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


def group_frame(seq: int, *, conv: str, sender: BenchAccount, envelope_bytes: int) -> bytes:
    """A ``send`` of a Megolm-shaped body of about ``envelope_bytes`` (random ciphertext)."""
    head = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": sender.curve25519,
        "device_id": sender.device_id,
        "session_id": base64.b64encode(os.urandom(32)).decode().rstrip("="),
        "ciphertext": "",
    }
    overhead = len(json.dumps(head, separators=(",", ":")))
    head["ciphertext"] = base64.b64encode(os.urandom(envelope_bytes)).decode()[
        : max(envelope_bytes - overhead, 16)
    ]
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


async def run_group(options: BenchOptions, progress: object) -> ScenarioFigures:
    say = progress if callable(progress) else (lambda _: None)
    members = options.members
    raise_fd_limit(2 * members + 256)
    label = "[d] group fan-out"
    async with (
        CodeGateway().running() as codes,
        spawned_server(
            start_timeout_s=options.start_timeout_s, gateway=options.gateway, extra_config=codes.config()
        ) as server,
    ):
        say(f"{label}: server pid {server.pid} ready; registering {members + 1} accounts of {len(APPS)} apps")
        sender, accounts = await register_members(server.url, codes, members)
        conv = await create_group(server.url, sender, accounts)
        recorder = Recorder()
        say(f"{label}: connecting {members + 1} devices")
        sockets = await connect_all(server.ws_url, [sender, *accounts], recorder, options.ack_batch)
        try:
            say(f"{label}: running {options.group_sends} sends")
            measured = await _measure(server.pid, sockets, recorder, conv, sender, options)
        finally:
            await asyncio.gather(*(s.close() for s in sockets))
    figures = compute(measured)
    say(f"{label}: {figures.delivered} deliveries, p99 to the last member {figures.p99_ms or 0:.1f} ms")
    return figures


async def _measure(
    pid: int, sockets: list[BenchSocket], rec: Recorder, conv: str, sender: BenchAccount, opts: BenchOptions
) -> Interval:
    origin, receivers = sockets[0], sockets[1:]
    frames = [
        group_frame(k, conv=conv, sender=sender, envelope_bytes=opts.envelope_bytes)
        for k in range(opts.group_sends)
    ]
    expected = rec.delivered_total
    last_ns: list[int] = []
    meter = Meter(pid)
    await meter.begin()
    delivered = 0
    for frame in frames:
        expected += len(receivers)
        start = perf_counter_ns()
        rec.start(base_ns=start)
        origin.send(frame)
        done = await wait_until(
            lambda target=expected: rec.delivered_total >= target or origin.lost,  # type: ignore[misc]
            rec.changed,
            opts.drain_timeout_s,
        )
        if not done or rec.delivered_total < expected:
            rec.error("undelivered", expected - rec.delivered_total)
            break
        delivered += rec.delivered
        last_ns.append(max(rec.latencies_ns))
        await asyncio.sleep(PAUSE_S)
    for socket in receivers:
        socket.flush_ack()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(opts.drain_timeout_s):
            await asyncio.gather(*(s.ping() for s in receivers))
    reading = await meter.end()
    rec.stop()
    rec.delivered = delivered
    rec.latencies_ns = last_ns
    return interval(
        reading, rec, {"members": len(receivers), "sends": len(last_ns), "pause_ms": PAUSE_S * 1000}
    )
