"""What a person watching the bench sees on stderr: a line per step and a ``rich`` progress bar per
phase of each scenario. Never on stdout, which carries only the table or the JSON."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from time import perf_counter

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

TICK_S = 0.2


class Reporter:
    """Silent: the base for tests and library use."""

    def say(self, text: str) -> None:
        return None

    @contextlib.asynccontextmanager
    async def track(
        self, description: str, total: float, current: Callable[[], float]
    ) -> AsyncIterator[None]:
        """Show ``current()`` out of ``total`` while the block runs."""
        yield

    @contextlib.asynccontextmanager
    async def timed(self, description: str, seconds: float) -> AsyncIterator[None]:
        """A bar that fills over ``seconds`` of wall time."""
        start = perf_counter()
        async with self.track(description, round(seconds, 1), lambda: round(perf_counter() - start, 1)):
            yield


class RichReporter(Reporter):
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def say(self, text: str) -> None:
        self.progress.console.print(text, style="dim", markup=False, highlight=False)

    @contextlib.asynccontextmanager
    async def track(
        self, description: str, total: float, current: Callable[[], float]
    ) -> AsyncIterator[None]:
        progress = self.progress
        task = progress.add_task(description, total=total)

        async def tick() -> None:
            while True:
                progress.update(task, completed=min(current(), total))
                await asyncio.sleep(TICK_S)

        ticker = asyncio.create_task(tick(), name="bench-progress")
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            progress.update(task, completed=min(current(), total))
            progress.stop_task(task)
