"""Continuous traffic between SDK clients, and the fault tests' accounting.

Every flow is one person writing to another, one message after the other, each with a text of its
own (``"<flow> <n>"``), for as long as the traffic runs; every client both sends and receives. The
accounting is by text, as a person would check: for each flow,

- **attempted**: texts handed to ``send_text`` (whatever became of them);
- **acked**: texts whose ``send_text`` returned (the server answered ``sent``: it promised them);
- **received**: how many times the recipient's ``on_message`` gave each text.

The promise under test: every acked text is received exactly once (**lost** = acked, never
received; **duplicated** = received more than once), and nothing is received that was not
attempted (**invented**). A send that failed (``send_text`` raised) may or may not arrive — the SDK
keeps it pending and writes it again after reconnecting — but at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from passerelle.sdk import Client, Message, SdkError

SETTLE_S = 60.0


@dataclass
class Flow:
    name: str
    sender: Client
    receiver: Client
    attempted: set[str] = field(default_factory=set)
    acked: list[str] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> list[str]:
        return [text for text in self.acked if self.received[text] == 0]

    @property
    def duplicated(self) -> list[str]:
        return [text for text, count in self.received.items() if count > 1]

    @property
    def invented(self) -> list[str]:
        return [text for text in self.received if text not in self.attempted]


@dataclass
class Figures:
    acked: int
    received: int
    lost: int
    duplicated: int
    invented: int
    failed_sends: dict[str, int]
    longest_gap_s: float
    """The longest time without any acknowledged send, across every flow: how long the fault
    stopped the traffic (measured, reported; never asserted)."""
    longest_flow_gap_s: float
    """The longest time one flow (one person writing to another) waited between two acknowledged
    sends: how long the fault stopped the unluckiest person."""


class Traffic:
    """``flows`` running (``async with``) until ``stop``; the accounting in ``figures``."""

    def __init__(self, flows: list[Flow], *, pause_on_error_s: float = 0.1) -> None:
        self.flows = flows
        self._pause = pause_on_error_s
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._progress = asyncio.Event()
        """Set at every acknowledged send and every received message."""
        for flow in flows:
            flow.receiver.on_message(self._receiver_of(flow))

    def _receiver_of(self, flow: Flow) -> Callable[[Message], None]:
        prefix = f"{flow.name} "

        def on_message(message: Message) -> None:
            if not message.outgoing and message.text.startswith(prefix):
                flow.received[message.text] += 1
                self._progress.set()

        return on_message

    async def __aenter__(self) -> Traffic:
        for flow in self.flows:
            self._tasks.append(asyncio.create_task(self._send(flow), name=f"traffic {flow.name}"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Whatever happened (a failed test too), no sender outlives the traffic."""
        await self._cancel()

    async def _cancel(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, SdkError):
                await task

    async def _send(self, flow: Flow) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            text = f"{flow.name} {n}"
            flow.attempted.add(text)
            try:
                await flow.sender.send_text(flow.receiver.account_id, text)
            except SdkError as exc:
                flow.failures[type(exc).__name__] += 1
                await asyncio.sleep(self._pause)
                continue
            flow.acked.append(text)
            flow.ack_times.append(time.monotonic())
            self._progress.set()

    async def _progressed(self) -> None:
        """Wait for the next ack or message (or a moment: a sender may have crashed)."""
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):
                await self._progress.wait()

    def acked(self) -> int:
        return sum(len(f.acked) for f in self.flows)

    async def until_acked(self, count: int, *, within: float = SETTLE_S) -> None:
        """Wait until ``count`` more sends are acknowledged, across every flow (each one at least one)."""
        goal = [len(f.acked) + 1 for f in self.flows]
        total = self.acked() + count
        async with asyncio.timeout(within):
            while self.acked() < total or any(
                len(f.acked) < g for f, g in zip(self.flows, goal, strict=True)
            ):
                for task in self._tasks:
                    if task.done():
                        task.result()  # a sender that crashed fails the test here
                await self._progressed()

    async def stop(self) -> None:
        """Stop sending (the sends in flight finish), then wait until every acked text has arrived
        (bounded: a lost one fails ``check``)."""
        self._stop.set()
        try:
            async with asyncio.timeout(SETTLE_S):
                await asyncio.gather(*self._tasks)
        finally:
            await self._cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_S):
                while any(f.lost for f in self.flows):
                    await self._progressed()
        await asyncio.sleep(0.3)  # a duplicate, if any, would come now

    def figures(self) -> Figures:
        times = sorted(t for f in self.flows for t in f.ack_times)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        flow_gaps = [b - a for f in self.flows for a, b in itertools.pairwise(f.ack_times)]
        failures: Counter[str] = Counter()
        for flow in self.flows:
            failures.update(flow.failures)
        return Figures(
            acked=self.acked(),
            received=sum(sum(f.received.values()) for f in self.flows),
            lost=sum(len(f.lost) for f in self.flows),
            duplicated=sum(len(f.duplicated) for f in self.flows),
            invented=sum(len(f.invented) for f in self.flows),
            failed_sends=dict(failures),
            longest_gap_s=round(max(gaps, default=0.0), 3),
            longest_flow_gap_s=round(max(flow_gaps, default=0.0), 3),
        )

    def check(self) -> Figures:
        """The promise: nothing acked lost, nothing duplicated, nothing invented."""
        figures = self.figures()
        problems = {
            flow.name: {
                "lost": flow.lost[:5],
                "duplicated": flow.duplicated[:5],
                "invented": flow.invented[:5],
            }
            for flow in self.flows
            if flow.lost or flow.duplicated or flow.invented
        }
        assert not problems, f"{figures}: {problems}"
        return figures


def both_ways(*pairs: tuple[str, Client, Client]) -> list[Flow]:
    """Two flows per pair: each person writes to the other."""
    flows: list[Flow] = []
    for name, one, other in pairs:
        flows.append(Flow(f"{name}>", one, other))
        flows.append(Flow(f"{name}<", other, one))
    return flows
