"""``passerelle bench``: run the scenarios, print the figures.

The table and the progress go to stderr when ``--json`` is given, so that stdout carries only the
JSON object (on its last line); otherwise the table goes to stdout. Exit status: 0 when every
scenario ran (even with errors counted in its figures), 1 when the bench could not measure, 2 for
bad options.
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
from passerelle.cli.bench.report import show
from passerelle.cli.bench.runner import BenchReport, run_bench

T = TypeVar("T")


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


def bench_command(
    *,
    scenario: str = "all",
    duration_s: float = 10.0,
    pairs: int = 20,
    rate: float = 5000.0,
    warmup_s: float = 2.0,
    window: int = 64,
    messages: int = 50_000,
    ack_batch: int = 1,
    members: int = 1000,
    group_sends: int = 50,
    gateway: str = "picows",
    as_json: bool = False,
) -> int:
    console = Console(stderr=as_json)
    if not console.is_terminal:
        console.width = 120
    errors = Console(stderr=True)
    try:
        options = BenchOptions(
            scenarios=parse_scenarios(scenario),
            duration_s=duration_s,
            pairs=pairs,
            rate=rate,
            warmup_s=warmup_s,
            window=window,
            offline_messages=messages,
            ack_batch=ack_batch,
            members=members,
            group_sends=group_sends,
            gateway=gateway,
        )
    except ValueError as exc:
        errors.print(f"passerelle bench: {exc}", style="red", markup=False, highlight=False)
        return 2

    def progress(text: str) -> None:
        errors.print(text, style="dim", markup=False, highlight=False)

    try:
        report: BenchReport = run_with_fast_loop(cancelled_by_signals(run_bench(options, progress)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        errors.print("passerelle bench: interrupted; the server was stopped", style="red", markup=False)
        return 130
    except BenchError as exc:
        errors.print(f"passerelle bench could not measure: {exc}", style="red", markup=False, highlight=False)
        if as_json:
            print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    show(report, as_json=as_json, console=console)
    return 0
