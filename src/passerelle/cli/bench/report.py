"""Showing a bench run: a table for people, and one JSON object on the last line for machines.

A failed scenario (messages lost, duplicated, rejected or unanswered, connections lost, or a load
the server refused) shows FAILED and its counts instead of figures."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from passerelle.cli.bench.figures import ScenarioFigures
from passerelle.cli.bench.runner import BenchReport


def _num(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _counts(f: ScenarioFigures) -> str:
    c = f.counts
    if f.unit in {"connection", "login"}:
        return "—" if f.ok else f.failure or ""
    text = f"{c.delivered:,}/{c.expected:,}"
    if not f.ok:
        text += f"; {f.failure}"
    return text


def _phase_notes(f: ScenarioFigures) -> list[str]:
    notes = []
    for name, p in f.phases.items():
        cpu = p.get("cpu_us_per_msg")
        threads = ", ".join(f"{k} {v:.1f}" for k, v in sorted(p.get("cpu_us_per_msg_by_thread", {}).items()))
        notes.append(
            f"{name}: {p.get('messages', 0):,} messages at {p.get('per_s', 0):,.0f}/s, "
            f"{_num(cpu, '.1f')} µs server CPU each ({threads})"
        )
    return notes


def _notes(f: ScenarioFigures) -> str:
    extra = f.extra
    plural = "deliveries" if f.unit == "delivery" else f"{f.unit}s"
    notes = [f"{f.units:,} {plural} in {f.seconds:.2f} s"]
    if f.name in {"a", "a2"}:
        notes.append(
            f"{extra.get('pairs')} pairs, window {extra.get('window')} refilled on {extra.get('refill')}"
        )
    elif f.name == "b":
        notes.append(
            f"offered {extra.get('offered_per_s', 0):,.0f}/s of {extra.get('target_per_s', 0):,.0f}/s"
        )
    elif f.name == "c":
        notes += _phase_notes(f)
        notes.append("latency from the connects")
    elif f.name == "d":
        notes.append(
            f"{extra.get('sends', 0)} sends to {extra.get('members', 0)} members of 3 apps, one at a "
            "time; latency = until the last member has it; CPU per recipient delivery"
        )
    elif f.name == "e":
        notes.append(
            f"{extra.get('kb_per_connection', 0):.1f} KB of server memory per connection "
            f"(RSS {extra.get('rss_before_mb', 0):.0f} → {extra.get('rss_after_mb', 0):.0f} MB); "
            "latency = connect to welcome; CPU per connection set-up"
        )
        if extra.get("limited_by"):
            notes.append(f"{extra['connections']} of {extra['asked']} asked: {extra['limited_by']}")
    elif f.name == "f":
        notes.append(f"{extra.get('concurrency')} at a time; latency = challenge request to welcome")
    elif f.name == "g":
        notes.append(
            f"a template to {extra.get('people', 0):,} opted-in people through the {extra.get('endpoint')} "
            f"endpoint's POST /{{phone_number_id}}/messages, {extra.get('concurrency')} in flight over "
            f"{extra.get('numbers')} numbers; all delivered to the devices {extra.get('all_delivered_s', 0):.1f} s "
            f"after the first send; set-up {extra.get('setup_s', 0):.0f} s; latency = the API's answer; "
            "server CPU until the last delivery, per send"
        )
    elif f.name == "h":
        notes.append(
            f"{extra.get('people')} people at {extra.get('offered_per_s', 0):,.0f}/s of "
            f"{extra.get('target_per_s', 0):,.0f}/s to the {extra.get('endpoint')} endpoint; latency = "
            "scheduled send to the signed webhook verified at the bot's receiver"
        )
    batch, commit_ms = extra.get("commit_batch_mean"), extra.get("commit_ms_mean")
    if batch is not None and commit_ms is not None:
        notes.append(f"{batch:.1f} messages per commit, {commit_ms:.1f} ms per commit (whole run)")
    if f.thread_cpu_us_per_unit:
        split = ", ".join(f"{k} {v:.1f}" for k, v in sorted(f.thread_cpu_us_per_unit.items()))
        notes.append(f"server µs/{f.unit} by thread: {split}")
    status = "" if f.ok else "FAILED: "
    return f"({f.name}) {status}" + "; ".join(notes)


def table(report: BenchReport) -> Table:
    opts = report.options
    grid = Table(
        title=f"passerelle bench: {opts.body_bytes}-byte bodies, window {opts.window} refilled on "
        f"{opts.refill} (latencies in ms, CPU in µs per unit)"
    )
    grid.add_column("scenario")
    grid.add_column("unit")
    for header in ("per s", "p50", "p95", "p99", "samples", "server CPU", "client CPU", "RSS MB"):
        grid.add_column(header, justify="right")
    grid.add_column("delivered/owed")
    for name, f in report.scenarios.items():
        grid.add_row(
            f"{name} {f.title}" + ("" if f.ok else " [bold red]FAILED[/]"),
            f.unit,
            _num(f.per_s, ",.0f"),
            _num(f.p50_ms, ".2f"),
            _num(f.p95_ms, ".2f"),
            _num(f.p99_ms, ".2f"),
            f"{f.samples:,}",
            _num(f.cpu_us_per_unit, ".1f"),
            _num(f.client_cpu_us_per_unit, ".1f"),
            f"{f.rss_mb:.0f}",
            _counts(f),
        )
    m = report.machine
    notes = [_notes(f) for f in report.scenarios.values()]
    notes.append(
        f"{m['cpus']} CPUs ({m['cpu']}), load average {m['load_avg_1m']} at the start and "
        f"{m.get('load_avg_1m_end')} at the end, Python {m['python']}, {m['client']} on "
        f"{m['client_loop']}, source {m['revision'] or 'installed'}"
    )
    if not report.ok:
        notes.append("FAILED: some scenario lost, duplicated or had rejected messages (its counts above)")
    grid.caption = "\n".join(notes)
    grid.caption_justify = "left"
    return grid


def show(report: BenchReport, *, as_json: bool, console: Console) -> None:
    """The table (on ``console``); with ``as_json``, then the JSON object as the last stdout line."""
    console.print(table(report))
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
