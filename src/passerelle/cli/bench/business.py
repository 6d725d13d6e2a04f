"""Scenario (g), a template campaign (docs/business.md sections 5 and 6; issue 11's proof): a business
with a **hosted** endpoint sends an approved marketing template to ``campaign_people`` (10 000)
people who opted in, through the Cloud API's ``POST /{phone_number_id}/messages`` on the server, as
a bot would: ``biz_concurrency`` (64) requests in flight, round robin over ``biz_numbers`` (3)
numbers of ``BUSINESS_SENDS_PER_SECOND`` each.

Set-up (timed, reported apart: ``extra.setup_s``): the operator's business through the admin API,
the people registered on two phone apps, each publishing a fallback key and opting in (the bot
learns their ``wa_id`` from webhooks: ``business_world``), the tier written for the campaign's
size, every person's device connected.

Measured: **accepted sends/s** (HTTP 200 answers over the send phase: first request → last answer),
the latency of each answer, **the time until every accepted send was delivered** to its person's
device (each person is sent one template: a person with none is a lost send, with two a duplicate),
and the server's CPU from the first request until the last delivery, per accepted send. Any send
answered otherwise than 200, lost or duplicated makes the run FAILED: no figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from time import perf_counter, perf_counter_ns

import httpx
from msgspec import json

from passerelle.cli.bench.accounting import Counts
from passerelle.cli.bench.business_world import (
    BUSINESS_SENDS_PER_SECOND,
    Hook,
    Shop,
    WebhookReceiver,
    business_config,
    changes,
    enrol_people,
    open_shop,
    set_tier,
)
from passerelle.cli.bench.client import BenchSocket, Recorder
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import Interval, ScenarioFigures, compute
from passerelle.cli.bench.group import connect_all, raise_fd_limit
from passerelle.cli.bench.group_accounts import PHONE_APPS, CodeGateway, register_phones
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.procstat import clock_ticks_per_s
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.rawhttp import RawHttp
from passerelle.cli.bench.scenarios import phase
from passerelle.cli.bench.server import ServerHandle, commit_figures, spawned_server
from passerelle.cli.bench.world import Meter, Reading, wait_until
from passerelle.domain.business.tiers import Tier

DATABASE = "passerelle.db"


def tier_for(people: int) -> Tier:
    """The smallest tier that lets a business reach ``people`` new people in 24 hours."""
    return next(t for t in Tier if t.limit is None or t.limit >= people)


def template_send(wa_id: str) -> dict[str, object]:
    return {
        "messaging_product": "whatsapp",
        "to": wa_id,
        "type": "template",
        "template": {
            "name": "spring_sale",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Marie"}, {"type": "text", "text": "20 %"}],
                }
            ],
        },
    }


class Bot:
    """The business's bot: sends, counts the answers by Cloud API code, times each answer. Each of
    its ``concurrency`` workers has one kept-alive connection (``RawHttp``): with httpx's pool of 64
    connections the bot's own process was the limit (py-spy: 96 % busy, most of it the pool's
    bookkeeping, at ~30 sends/s)."""

    def __init__(self, url: str, shop: Shop, concurrency: int) -> None:
        parts = httpx.URL(url)
        auth = {"Authorization": f"Bearer {shop.token}"}
        self.https = [
            RawHttp(parts.host, parts.port or 80, timeout_s=60.0, headers=auth) for _ in range(concurrency)
        ]
        self.numbers = itertools.cycle(shop.numbers)
        self.concurrency = concurrency
        self.accepted = 0
        self.answered = 0
        self.rejected: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.latencies_ns: list[int] = []
        self.bins: list[int] = []
        self.started_ns = 0

    async def send(self, http: RawHttp, wa_id: str) -> None:
        number = next(self.numbers)
        start = perf_counter_ns()
        try:
            status, body = await http.post(f"/v22.0/{number}/messages", json.encode(template_send(wa_id)))
        except (OSError, TimeoutError) as exc:  # HttpClosed is a ConnectionError
            self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            http.close()
            return
        now = perf_counter_ns()
        self.answered += 1
        if status == 200:
            self.accepted += 1
            self.latencies_ns.append(now - start)
            index = (now - self.started_ns) // 100_000_000
            while len(self.bins) <= index:
                self.bins.append(0)
            self.bins[index] += 1
            return
        try:
            code = str(json.decode(body)["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = f"http_{status}"
        self.rejected[code] = self.rejected.get(code, 0) + 1

    async def campaign(self, wa_ids: Sequence[str]) -> None:
        queue = iter(wa_ids)
        self.started_ns = perf_counter_ns()

        async def worker(http: RawHttp) -> None:
            for wa_id in queue:
                await self.send(http, wa_id)

        await asyncio.gather(*(worker(http) for http in self.https))

    def close(self) -> None:
        for http in self.https:
            http.close()


def campaign_counts(bot: Bot, sent: int, sockets: Sequence[BenchSocket], rec: Recorder) -> Counts:
    """Each person is sent one template: one that got none lost it, one that got more had one
    duplicated (a message id twice, or two messages)."""
    received = [len(s.inbox.seen) for s in sockets]
    got = sum(1 for n in received if n)
    errors = dict(rec.errors)
    for code, n in bot.errors.items():
        errors[code] = errors.get(code, 0) + n
    return Counts(
        sent=sent,
        confirmed=bot.accepted,
        expected=bot.accepted,
        delivered=got,
        undelivered=max(bot.accepted - got, 0),
        duplicated=sum(s.inbox.duplicates for s in sockets) + sum(n - 1 for n in received if n > 1),
        unanswered=sent - bot.answered - sum(bot.errors.values()),
        rejected=dict(bot.rejected),
        errors=errors,
    )


async def run_campaign(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    people_n = options.campaign_people
    label = "[g] business campaign"
    raise_fd_limit(people_n + 1024)  # each process holds one end of each connection
    wa_ids: list[str] = []
    statuses: dict[str, int] = {}

    def on_post(hook: Hook) -> None:
        for _, value in changes(hook):
            for pref in value.get("user_preferences") or []:
                if pref.get("value") == "resume":
                    wa_ids.append(str(pref.get("wa_id")))
            for status in value.get("statuses") or []:
                name = str(status.get("status"))
                statuses[name] = statuses.get(name, 0) + 1

    receiver = WebhookReceiver(on_post=on_post)
    codes = CodeGateway()
    async with codes.running(), receiver.running():
        config = business_config(codes.config())
        async with spawned_server(
            start_timeout_s=options.start_timeout_s,
            gateway=options.gateway,
            extra_config=config,
            host=options.host,
            port=options.port,
        ) as server:
            return await _campaign(server, options, reporter, receiver, codes, wa_ids, statuses, label)
    raise AssertionError("unreachable")  # pragma: no cover


async def _campaign(
    server: ServerHandle,
    options: BenchOptions,
    reporter: Reporter,
    receiver: WebhookReceiver,
    codes: CodeGateway,
    wa_ids: list[str],
    statuses: dict[str, int],
    label: str,
) -> ScenarioFigures:
    people_n = options.campaign_people
    setup_started = perf_counter()
    reporter.say(f"{label}: server pid {server.pid} ready; the business, {people_n} people opting in")
    shop = await open_shop(server.url, receiver, numbers=options.biz_numbers)
    people = await register_phones(server.url, codes, people_n, apps=PHONE_APPS)
    async with reporter.track("people opted in (ids at the bot)", people_n, lambda: len(wa_ids)):
        await enrol_people(server.url, shop, people)
        if not await wait_until(lambda: len(wa_ids) >= people_n, receiver.changed, options.drain_timeout_s):
            raise_short(len(wa_ids), people_n)
    tier = tier_for(people_n)
    assert server.data_dir is not None, "a bench server has a data directory"
    await asyncio.to_thread(set_tier, server.data_dir / DATABASE, shop.waba_id, int(tier))
    rec = Recorder()
    reporter.say(f"{label}: connecting {people_n} people's devices")
    sockets = await connect_all(server.ws_url, people, rec, options.ack_batch)
    setup_s = perf_counter() - setup_started
    bot = Bot(server.url, shop, options.biz_concurrency)
    try:
        everything, sending = Meter(server.pid), Meter(server.pid)
        await everything.begin()
        await sending.begin()
        rec.start()
        async with reporter.track("template sends answered", people_n, lambda: bot.answered):
            await bot.campaign(wa_ids[:people_n])
        sent_reading = await sending.end()
        async with reporter.track(
            "delivered to the people's devices", bot.accepted, lambda: rec.delivered_total
        ):
            await wait_until(
                lambda: rec.delivered_total >= bot.accepted, rec.changed, options.drain_timeout_s
            )
        for socket in sockets:
            socket.flush_ack()
        all_reading = await everything.end()
        rec.stop()
        all_delivered_s = all_reading.seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(options.drain_timeout_s, 10.0)):  # the last "sent" statuses
                await wait_until(lambda: statuses.get("sent", 0) >= bot.accepted, receiver.changed, 10.0)
        counts = campaign_counts(bot, people_n, sockets, rec)
    finally:
        bot.close()
        await asyncio.gather(*(s.close() for s in sockets))
    commits = await commit_figures(server.url)
    extra = {
        "endpoint": "hosted",
        "people": people_n,
        "numbers": options.biz_numbers,
        "number_sends_per_s": BUSINESS_SENDS_PER_SECOND,
        "concurrency": options.biz_concurrency,
        "tier": tier.name,
        "setup_s": setup_s,
        "all_delivered_s": all_delivered_s,
        "statuses": dict(sorted(statuses.items())),
        "bad_signatures": receiver.bad_signatures,
        **commits,
    }
    phases = {
        "send": phase(sent_reading, bot.accepted),
        "until_delivered": phase(all_reading, rec.delivered_total),
    }
    measured = _interval(sent_reading, all_reading, bot, counts, extra, phases)
    figures = compute(measured, name="g", title=SCENARIO_TITLES["g"], unit="send")
    if figures.ok:
        reporter.say(
            f"{label}: {bot.accepted:,} sends accepted at {figures.per_s or 0:,.0f}/s, all delivered "
            f"{all_delivered_s:.1f} s after the first, {figures.cpu_us_per_unit or 0:,.0f} µs server CPU each"
        )
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures


def raise_short(have: int, want: int) -> None:
    raise BenchError(f"the bot learnt the ids of {have} of {want} people from the webhooks")


def _interval(
    sent: Reading,
    everything: Reading,
    bot: Bot,
    counts: Counts,
    extra: dict[str, object],
    phases: dict[str, dict[str, object]],
) -> Interval:
    """Rate over the send phase; server CPU over the whole campaign (until the last delivery)."""
    return Interval(
        seconds=sent.seconds,
        delivered=bot.accepted,
        latencies_ns=bot.latencies_ns,
        server_cpu_ticks=everything.server_cpu_ticks,
        server_thread_ticks=everything.thread_ticks,
        clock_ticks_per_s=clock_ticks_per_s(),
        server_rss_kb=everything.end.rss_kb,
        server_peak_rss_kb=everything.end.peak_rss_kb,
        client_cpu_s=everything.client_cpu_s,
        counts=counts,
        series=list(bot.bins),
        phases=phases,
        extra=extra,
    )
