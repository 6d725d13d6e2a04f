"""``passerelle bench``: run the scenarios, print the figures.

The progress (lines and bars) always goes to stderr; so does the table when ``--json`` is given,
so that stdout carries only the JSON object (on its last line); otherwise the table goes to stdout.
Exit status: 0 when every scenario ran and is ok, 3 when one failed, 1 when the bench could not
measure, 2 for bad options.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.options import BenchOptions, parse_scenarios
from passerelle.cli.bench.plots import write_plots
from passerelle.cli.bench.progress import RichReporter
from passerelle.cli.bench.report import show
from passerelle.cli.bench.runner import SCHEMA, BenchReport, run_bench

T = TypeVar("T")
FAILED = 3
"""Exit status of a run in which some scenario failed."""


def run_with_fast_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (the server uses it too), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


async def cancelled_by_signals(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; SIGTERM or SIGHUP cancel it, so that its clean-up (stopping the server, removing
    the temporary directory) runs as after Ctrl-C, then the CancelledError propagates."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    installed = []
    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, task.cancel)
            installed.append(signum)
    try:
        return await coro
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def bench_command(options: dict[str, Any], *, scenario: str = "all", as_json: bool = False) -> int:
    """Run the bench with ``options`` (``BenchOptions`` fields, as given on the command line) and
    print the figures. Exit status: 0 when every scenario ran and is ok, 3 when one failed (messages
    lost, duplicated, rejected or unanswered, connections lost, a load the server refused), 1 when
    the bench could not measure, 2 for bad options, 130 when interrupted."""
    console = Console(stderr=as_json)
    if not console.is_terminal:
        console.width = 120
    errors = Console(stderr=True)
    try:
        bench_options = BenchOptions(scenarios=parse_scenarios(scenario), **options)
    except (ValueError, TypeError) as exc:
        errors.print(f"passerelle bench: {exc}", style="red", markup=False, highlight=False)
        return 2
    try:
        with RichReporter(errors) as reporter:
            report: BenchReport = run_with_fast_loop(cancelled_by_signals(run_bench(bench_options, reporter)))
        if bench_options.plot_dir is not None:
            m = report.machine
            caption = f"source {m['revision'] or 'installed'}, load {m['load_avg_1m']}"
            for path in write_plots(report.scenarios, bench_options.plot_dir, caption=caption):
                errors.print(f"wrote {path}", style="dim", markup=False, highlight=False)
    except (KeyboardInterrupt, asyncio.CancelledError):
        errors.print("passerelle bench: interrupted; the server was stopped", style="red", markup=False)
        return 130
    except BenchError as exc:
        errors.print(f"passerelle bench could not measure: {exc}", style="red", markup=False, highlight=False)
        if as_json:
            print(json.dumps({"schema": SCHEMA, "ok": False, "error": str(exc)}), flush=True)
        return 1
    show(report, as_json=as_json, console=console)
    return 0 if report.ok else FAILED
