"""Scenario (h), inbound message → signed webhook (docs/business.md section 9; issue 11's proof):
``webhook_people`` (20) people, each a real SDK client (its own keys and store, Olm to the business's
hosted endpoint), write to the business at ``webhook_rate`` (500) messages per second in all, on a
schedule whatever the answers (an open loop, as (b)), for ``duration_s`` after a warm-up in which
each person's first message opens the Olm session. The hosted endpoint decrypts each message and
posts the Cloud API's ``messages`` webhook, signed, to the bench's receiver, which checks
``X-Hub-Signature-256`` (``business_world.WebhookReceiver``).

Latency: from a message's **scheduled** instant until its webhook arrived and verified (so a client
or server that falls behind shows up). The rate (``per_s``) is the webhooks received over the time
from the first scheduled send until the last webhook (``extra.offered_s`` is the sending part). Every message is accounted for by its text: a send the
server refused, a message whose webhook never came (within the drain timeout) or came twice makes
the run FAILED. Server CPU per message is over the measured interval and the drain after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path
from time import perf_counter_ns

from passerelle.cli.bench.accounting import Counts
from passerelle.cli.bench.business_world import (
    SLUG,
    Hook,
    WebhookReceiver,
    business_config,
    changes,
    open_shop,
)
from passerelle.cli.bench.figures import Interval, ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, phone_number
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.procstat import clock_ticks_per_s
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.server import ServerHandle, commit_figures, spawned_server
from passerelle.cli.bench.world import Meter, wait_until
from passerelle.sdk import Client

TICK_S = 0.002
BIN_NS = 100_000_000


class Inbound:
    """What the bot's receiver got, by message text."""

    def __init__(self) -> None:
        self.due_ns: dict[str, int] = {}
        """Each message's scheduled instant, until its webhook comes."""
        self.got: set[str] = set()
        self.duplicated = 0
        self.latencies_ns: list[int] = []
        self.bins: list[int] = []
        self.recording = False
        self.start_ns = 0

    def on_post(self, hook: Hook) -> None:
        for _, value in changes(hook):
            for message in value.get("messages") or []:
                text = str((message.get("text") or {}).get("body", ""))
                if text in self.got:
                    self.duplicated += 1
                    continue
                self.got.add(text)
                due = self.due_ns.pop(text, None)
                if due is not None and self.recording:
                    self.latencies_ns.append(hook.at_ns - due)
                    index = (hook.at_ns - self.start_ns) // BIN_NS
                    while len(self.bins) <= index:
                        self.bins.append(0)
                    self.bins[index] += 1


class People:
    """The people's SDK clients and the outcome of their sends."""

    def __init__(self, clients: list[Client], business_account: str) -> None:
        self.clients = clients
        self.business_account = business_account
        self.sent = 0
        self.confirmed = 0
        self.rejected: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, k: int, text: str) -> None:
        task = asyncio.create_task(self._send(self.clients[k % len(self.clients)], text))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.sent += 1

    async def _send(self, client: Client, text: str) -> None:
        try:
            await client.send_text(self.business_account, text)
        except Exception as exc:  # counted: a refused send fails the run
            name = getattr(exc, "code", None) or type(exc).__name__
            self.rejected[str(name)] = self.rejected.get(str(name), 0) + 1
            return
        self.confirmed += 1


async def make_people(server: ServerHandle, codes: CodeGateway, count: int, root: Path) -> People:
    clients: list[Client] = []

    async def one(n: int) -> Client:
        phone = phone_number(900_000 + n)
        waiter = codes.expect(phone)
        await Client.request_code(server.url, "chat", phone)
        async with asyncio.timeout(10.0):
            code = await waiter
        client = await Client.register(
            server.url, root / f"p{n}", app="chat", phone=phone, code=str(code), display_name=f"Person {n}"
        )
        await client.connect()
        return client

    try:
        for start in range(0, count, 8):
            clients += await asyncio.gather(*(one(n) for n in range(start, min(start + 8, count))))
        found = await clients[0].businesses.find(f"biz:{SLUG}")
    except BaseException:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        raise
    return People(clients, str(found.account_id))


async def run_webhooks(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    inbound = Inbound()
    receiver = WebhookReceiver(on_post=inbound.on_post)
    codes = CodeGateway()
    async with codes.running(), receiver.running(separate=True):  # a bot is its own program
        async with spawned_server(
            start_timeout_s=options.start_timeout_s,
            gateway=options.gateway,
            extra_config=business_config(codes.config()),
            host=options.host,
            port=options.port,
        ) as server:
            with tempfile.TemporaryDirectory(prefix="passerelle-bench-people-") as folder:
                return await _measure(server, options, reporter, receiver, codes, inbound, Path(folder))
    raise AssertionError("unreachable")  # pragma: no cover


async def _measure(
    server: ServerHandle,
    options: BenchOptions,
    reporter: Reporter,
    receiver: WebhookReceiver,
    codes: CodeGateway,
    inbound: Inbound,
    root: Path,
) -> ScenarioFigures:
    label = "[h] business webhooks"
    reporter.say(f"{label}: server pid {server.pid} ready; the business and {options.webhook_people} people")
    await open_shop(server.url, receiver, numbers=1)
    people = await make_people(server, codes, options.webhook_people, root)
    try:
        # Warm-up: each person's first message opens their Olm session with the endpoint.
        for n in range(len(people.clients)):
            inbound.due_ns[f"hello {n}"] = perf_counter_ns()
            people.send(n, f"hello {n}")
        await wait_until(
            lambda: len(inbound.got) >= len(people.clients), receiver.changed, options.drain_timeout_s
        )
        step_ns = 1e9 / options.webhook_rate
        meter = Meter(server.pid)
        await meter.begin()
        inbound.recording = True
        t0 = inbound.start_ns = perf_counter_ns()
        k = 0
        end_ns = t0 + int(options.duration_s * 1e9)
        async with reporter.timed("inbound messages (s)", options.duration_s):
            while (now := perf_counter_ns()) < end_ns:
                due = min(int((now - t0) / step_ns) + 1, int(options.duration_s * options.webhook_rate))
                while k < due:
                    text = f"bench {k}"
                    inbound.due_ns[text] = t0 + int(k * step_ns)
                    people.send(k, text)
                    k += 1
                await asyncio.sleep(TICK_S)
        offered_s = (perf_counter_ns() - t0) / 1e9
        expected = len(people.clients) + k
        await wait_until(
            lambda: len(inbound.got) + sum(people.rejected.values()) >= expected,
            receiver.changed,
            options.drain_timeout_s,
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(options.drain_timeout_s):
                await asyncio.gather(*people.tasks, return_exceptions=True)
        reading = await meter.end()
        inbound.recording = False
    finally:
        for task in list(people.tasks):
            task.cancel()
        await asyncio.gather(*(c.close() for c in people.clients), return_exceptions=True)
    commits = await commit_figures(server.url)
    counts = Counts(
        sent=people.sent,
        confirmed=people.confirmed,
        expected=people.confirmed,
        delivered=len(inbound.got),
        undelivered=max(people.confirmed - len(inbound.got), 0),
        duplicated=inbound.duplicated,
        unanswered=people.sent - people.confirmed - sum(people.rejected.values()),
        rejected=dict(people.rejected),
        errors={"bad_signature": receiver.bad_signatures} if receiver.bad_signatures else {},
    )
    extra = {
        "endpoint": "hosted",
        "people": len(people.clients),
        "target_per_s": options.webhook_rate,
        "offered_per_s": k / offered_s if offered_s > 0 else 0.0,
        "messages": k,
        "offered_s": offered_s,
        **commits,
    }
    measured = Interval(
        seconds=reading.seconds,  # until the last webhook: the rate the bot got them at
        delivered=len(inbound.latencies_ns),
        latencies_ns=inbound.latencies_ns,
        server_cpu_ticks=reading.server_cpu_ticks,
        server_thread_ticks=reading.thread_ticks,
        clock_ticks_per_s=clock_ticks_per_s(),
        server_rss_kb=reading.end.rss_kb,
        server_peak_rss_kb=reading.end.peak_rss_kb,
        client_cpu_s=reading.client_cpu_s,
        counts=counts,
        series=list(inbound.bins),
        extra=extra,
    )
    figures = compute(measured, name="h", title=SCENARIO_TITLES["h"], unit="message")
    if figures.ok:
        reporter.say(
            f"{label}: {figures.units:,} webhooks, p50 {figures.p50_ms or 0:.1f} ms, p99 "
            f"{figures.p99_ms or 0:.1f} ms ({figures.samples} samples)"
        )
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures
