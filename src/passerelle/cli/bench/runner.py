"""One bench run: for each scenario, a fresh server process, fresh accounts, the scenario, figures.

A fresh server per scenario keeps the figures independent: an empty database, no memory left over
from the scenario before, and (c) starts with empty mailboxes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from passerelle.cli.bench.client import Recorder
from passerelle.cli.bench.figures import ScenarioFigures, compute
from passerelle.cli.bench.group import run_group
from passerelle.cli.bench.identity import register_all
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.procstat import machine_info
from passerelle.cli.bench.scenarios import SCENARIO_RUNS
from passerelle.cli.bench.server import BENCH_APP, spawned_server
from passerelle.cli.bench.world import World

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchReport:
    options: BenchOptions
    machine: dict[str, Any]
    scenarios: dict[str, ScenarioFigures]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: figures.to_json() for name, figures in self.scenarios.items()}
        out["machine"] = self.machine
        out["options"] = {
            f.name: list(value) if isinstance(value := getattr(self.options, f.name), tuple) else value
            for f in dataclasses.fields(self.options)
        }
        return out


async def run_bench(options: BenchOptions, progress: Progress = lambda _: None) -> BenchReport:
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    machine = await asyncio.to_thread(machine_info, loop)
    results: dict[str, ScenarioFigures] = {}
    for name in options.scenarios:
        results[name] = await run_scenario(name, options, progress)
    return BenchReport(options=options, machine=machine, scenarios=results)


async def run_scenario(name: str, options: BenchOptions, progress: Progress) -> ScenarioFigures:
    if name == "d":
        return await run_group(options, progress)
    scenario, receivers_online = SCENARIO_RUNS[name]
    pairs = options.pairs
    label = f"[{name}] {SCENARIO_TITLES[name]}"
    async with spawned_server(start_timeout_s=options.start_timeout_s, gateway=options.gateway) as server:
        progress(f"{label}: server pid {server.pid} ready; registering {2 * pairs} accounts")
        handles = [f"bench_s{i:04d}" for i in range(pairs)] + [f"bench_r{i:04d}" for i in range(pairs)]
        accounts = await register_all(server.url, app=BENCH_APP, handles=handles)
        world = World(server, options, Recorder(), accounts[:pairs], accounts[pairs:])
        try:
            await world.connect_senders()
            if receivers_online:
                await world.connect_receivers()
            progress(f"{label}: running")
            measured = await scenario(world)
        finally:
            await world.close()
        commits = await commit_figures(server.url)
    measured = dataclasses.replace(measured, extra={**measured.extra, **commits})
    figures = compute(measured)
    progress(f"{label}: {figures.delivered} messages delivered, {figures.msgs_per_s:,.0f}/s")
    return figures


async def commit_figures(url: str) -> dict[str, float]:
    """Mean messages per group commit and mean time per commit (ms) over the server's life, from its
    Prometheus metrics; empty when they cannot be read."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
            text = (await http.get("/metrics")).text
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("passerelle_commit_"):
            values[parts[0]] = float(parts[1])
    out: dict[str, float] = {}
    commits = values.get("passerelle_commit_batch_size_count", 0.0)
    if commits:
        out["commits"] = commits
        out["commit_batch_mean"] = values.get("passerelle_commit_batch_size_sum", 0.0) / commits
    timed = values.get("passerelle_commit_seconds_count", 0.0)
    if timed:
        out["commit_ms_mean"] = values.get("passerelle_commit_seconds_sum", 0.0) / timed * 1000
    return out
