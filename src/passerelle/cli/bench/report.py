"""Showing a bench run: a table for people, and one JSON object on the last line for machines."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from passerelle.cli.bench.figures import ScenarioFigures
from passerelle.cli.bench.options import SCENARIO_TITLES
from passerelle.cli.bench.runner import BenchReport


def _num(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _errors(figures: ScenarioFigures) -> str:
    if not figures.errors:
        return "0"
    return ", ".join(f"{code} {count}" for code, count in sorted(figures.errors.items()))


def _notes(name: str, figures: ScenarioFigures) -> str:
    extra = figures.extra
    batch = extra.get("commit_batch_mean")
    commit_ms = extra.get("commit_ms_mean")
    notes = [f"{figures.delivered:,} delivered in {figures.seconds:.2f} s"]
    if name == "a":
        notes.append(f"window {extra.get('window', 0):.0f} per sender")
    elif name == "b":
        notes.append(
            f"offered {extra.get('offered_per_s', 0):,.0f}/s of {extra.get('target_per_s', 0):,.0f}/s"
        )
    elif name == "c":
        notes.append(
            f"{extra.get('stored', 0):,.0f} stored offline at {extra.get('fill_msgs_per_s', 0):,.0f}/s "
            f"({extra.get('fill_cpu_us_per_msg', 0):.1f} µs server CPU each); latency from the connects"
        )
    elif name == "d":
        notes.append(
            f"{extra.get('sends', 0):.0f} sends to {extra.get('members', 0):.0f} members of 3 apps, one at a "
            "time; latency = until the last member has it; CPU per recipient delivery"
        )
    if batch is not None and commit_ms is not None:
        notes.append(f"{batch:.1f} messages per commit, {commit_ms:.1f} ms per commit (whole run)")
    if figures.thread_cpu_us_per_msg:
        split = ", ".join(f"{k} {v:.1f}" for k, v in sorted(figures.thread_cpu_us_per_msg.items()))
        notes.append(f"server µs/msg by thread: {split}")
    return f"({name}) " + "; ".join(notes)


def table(report: BenchReport) -> Table:
    opts = report.options
    grid = Table(
        title=f"passerelle bench: {opts.pairs} pairs, {opts.envelope_bytes}-byte envelopes "
        "(latencies in ms, CPU in µs per delivered message)"
    )
    grid.add_column("scenario")
    for header in ("msgs/s", "p50", "p95", "p99", "server CPU", "client CPU", "RSS (peak) MB"):
        grid.add_column(header, justify="right")
    grid.add_column("errors")
    for name, f in report.scenarios.items():
        grid.add_row(
            f"{name} {SCENARIO_TITLES[name]}",
            f"{f.msgs_per_s:,.0f}",
            _num(f.p50_ms, ".2f"),
            _num(f.p95_ms, ".2f"),
            _num(f.p99_ms, ".2f"),
            _num(f.cpu_us_per_msg, ".1f"),
            _num(f.client_cpu_us_per_msg, ".1f"),
            f"{f.rss_mb:.0f} ({f.peak_rss_mb:.0f})",
            _errors(f),
        )
    m = report.machine
    notes = [_notes(name, f) for name, f in report.scenarios.items()]
    notes.append(
        f"{m['cpus']} CPUs ({m['cpu']}), load average {m['load_avg_1m']} at the start, "
        f"Python {m['python']}, {m['client']} on {m['client_loop']}, source {m['revision'] or 'installed'}"
    )
    grid.caption = "\n".join(notes)
    grid.caption_justify = "left"
    return grid


def show(report: BenchReport, *, as_json: bool, console: Console) -> None:
    """The table (on ``console``); with ``as_json``, then the JSON object as the last stdout line."""
    console.print(table(report))
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
