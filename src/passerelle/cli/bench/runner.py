"""One bench run: for each scenario, a fresh server process, fresh accounts, the scenario, figures.

A fresh server per scenario keeps the figures independent: an empty database, no memory left over
from the scenario before, and (c) starts with empty mailboxes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passerelle.cli.bench.business import run_campaign
from passerelle.cli.bench.business_webhooks import run_webhooks
from passerelle.cli.bench.client import Recorder
from passerelle.cli.bench.figures import ScenarioFigures, compute
from passerelle.cli.bench.group import run_group
from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
from passerelle.cli.bench.identity import add_contacts
from passerelle.cli.bench.idle import run_idle
from passerelle.cli.bench.logins import run_logins
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.procstat import machine_info
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.scenarios import SCENARIO_RUNS
from passerelle.cli.bench.server import bench_server, commit_figures
from passerelle.cli.bench.world import World

SCHEMA = 2
"""The version of the JSON's shape (benchmarks/README.md documents every key)."""
PAIR_APP = "chat"
"""Pair scenarios register on a phone app (one-time codes, no Argon2): fast even for 500 pairs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchReport:
    options: BenchOptions
    machine: dict[str, Any]
    scenarios: dict[str, ScenarioFigures]

    @property
    def ok(self) -> bool:
        return all(figures.ok for figures in self.scenarios.values())

    def to_json(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for f in dataclasses.fields(self.options):
            value = getattr(self.options, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Path):
                value = str(value)
            options[f.name] = value
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "scenarios": {name: figures.to_json() for name, figures in self.scenarios.items()},
            "machine": self.machine,
            "options": options,
        }


async def run_bench(options: BenchOptions, reporter: Reporter | None = None) -> BenchReport:
    reporter = reporter or Reporter()
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    machine = await asyncio.to_thread(machine_info, loop)
    results: dict[str, ScenarioFigures] = {}
    for name in options.scenarios:
        results[name] = await run_scenario(name, options, reporter)
    machine["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return BenchReport(options=options, machine=machine, scenarios=results)


async def run_scenario(name: str, options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    if name == "d":
        return await run_group(options, reporter)
    if name == "e":
        return await run_idle(options, reporter)
    if name == "f":
        return await run_logins(options, reporter)
    if name == "g":
        return await run_campaign(options, reporter)
    if name == "h":
        return await run_webhooks(options, reporter)
    scenario, receivers_online = SCENARIO_RUNS[name]
    pairs = options.many_pairs if name == "a2" else options.pairs
    label = f"[{name}] {SCENARIO_TITLES[name]}"
    async with CodeGateway().running() as codes, bench_server(options, codes) as server:
        reporter.say(f"{label}: server pid {server.pid} ready; registering {2 * pairs} accounts")
        accounts = await register_phones(server.url, codes, 2 * pairs, apps=(PAIR_APP,))
        # Each receiver knows its sender: the load is people writing to their contacts.
        await add_contacts(server.url, list(zip(accounts[pairs:], accounts[:pairs], strict=True)))
        world = World(server, options, Recorder(), accounts[:pairs], accounts[pairs:], reporter=reporter)
        try:
            await world.connect_senders()
            if receivers_online:
                await world.connect_receivers()
            reporter.say(f"{label}: running")
            measured = await scenario(world)
        finally:
            await world.close()
        commits = await commit_figures(server.url)
    measured = dataclasses.replace(measured, extra={**measured.extra, **commits})
    figures = compute(measured, name=name, title=SCENARIO_TITLES[name], unit="message")
    if figures.ok:
        reporter.say(f"{label}: {figures.units} messages delivered, {figures.per_s or 0:,.0f}/s")
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures
