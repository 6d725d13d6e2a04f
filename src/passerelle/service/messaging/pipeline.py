"""Group commit for the mailbox: every write to a mailbox goes through one SendPipeline.

Senders hand an OutgoingMessage over with a callback and go on reading their socket (pipelining);
the pipeline's single loop takes everything pending, stores it in ONE transaction, then calls the
callbacks and ``on_committed`` in commit order. Acks are coalesced (highest position per device)
and deleted in one transaction per round.

At light load the loop waits ``commit_delay_s`` (default 1 ms) before a commit that would carry
few messages, trading that much latency for far fewer commits, frames and wake-ups per message.
Acks are committed on their own schedule: ``ack_delay_s`` (default 20 ms) after the first of
them, with the batch under way then or alone. The devices of a group message ack one by one as the
fan-out reaches them; one transaction for all of them rewrites each mailbox page once instead of
once per ack, and a message's commit never waits on deleting acks that are not due yet. Nobody
waits on them: an ack counts at once for a reconnecting device (``pending_ack``), a count of what
waits in a mailbox first has its devices' acks committed (``settle_acks``), and an item whose
deletion a crash lost is delivered again (at-least-once; clients deduplicate).

Invariant: because one loop writes, ``on_committed`` sees each device's items in position order,
which lets the hub push them straight to live connections without reading them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from time import monotonic, perf_counter

from passerelle.domain.errors import DomainError, Unavailable
from passerelle.domain.ids import DeviceId, MailboxPos
from passerelle.service.ports import Mailbox
from passerelle.service.records import AppendResult, OutgoingMessage

log = logging.getLogger("passerelle.pipeline")

Done = Callable[[AppendResult | DomainError], None]
Committed = Callable[[Sequence[AppendResult]], None]


class PipelineFull(Unavailable):
    code = "rate_limited"


class SendPipeline:
    def __init__(
        self,
        mailbox: Mailbox,
        *,
        max_batch: int = 512,
        max_pending: int = 20_000,
        commit_delay_s: float = 0.0,
        ack_delay_s: float = 0.0,
        on_committed: Committed | None = None,
        on_batch: Callable[[int, float], None] | None = None,
        on_acks: Callable[[int], None] | None = None,
    ) -> None:
        self._mailbox = mailbox
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._commit_delay = commit_delay_s
        self._ack_delay = ack_delay_s
        self._pending: list[tuple[OutgoingMessage, Done]] = []
        self._acks: dict[DeviceId, MailboxPos] = {}
        self._acks_writing: dict[DeviceId, MailboxPos] = {}
        """The acks of the transaction under way (still pending until it commits)."""
        self._wake = asyncio.Event()
        self._acks_since = 0.0
        """When the oldest of the acks not yet committed came (``time.monotonic``)."""
        self._settled: list[asyncio.Future[None]] = []
        """Resolved after the next transaction (``settle_acks``)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self.on_committed = on_committed
        self._on_batch = on_batch
        self._on_acks = on_acks
        """Told of each transaction that only deleted acknowledged items (how many devices)."""

    def enqueue(self, message: OutgoingMessage, done: Done) -> None:
        """Queue a message; ``done`` gets the result (or the error) after the commit."""
        if len(self._pending) >= self._max_pending:
            raise PipelineFull("the server is busy; send again shortly")
        self._pending.append((message, done))
        self._idle.clear()
        self._wake.set()

    async def submit(self, message: OutgoingMessage) -> AppendResult:
        """Queue a message and wait for it to be stored."""
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()

        def done(result: AppendResult | DomainError) -> None:
            if future.done():
                return
            if isinstance(result, DomainError):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.enqueue(message, done)
        return await future

    def ack(self, device: DeviceId, upto: MailboxPos) -> None:
        if upto > self._acks.get(device, -1):
            if not self._acks:
                self._acks_since = monotonic()
                self._wake.set()  # the first: the loop starts counting ack_delay_s
            elif not self._ack_delay:
                self._wake.set()
            self._acks[device] = upto
            self._idle.clear()

    def pending_ack(self, device: DeviceId) -> MailboxPos:
        """The highest position ``device`` acknowledged that is not committed yet (0 when none)."""
        return max(self._acks.get(device, MailboxPos(0)), self._acks_writing.get(device, MailboxPos(0)))

    async def settle_acks(self, devices: Sequence[DeviceId]) -> None:
        """Return once no ack of ``devices`` waits to be committed: what a count of their mailboxes
        sees is then what they have not acknowledged."""
        while any(d in self._acks or d in self._acks_writing for d in devices):
            settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._settled.append(settled)
            self._wake.set()  # no waiting for company: someone waits for these acks
            await settled

    async def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued is stored, acks included (for shutdown); False if that took
        too long."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """The writer loop; runs until cancelled. Owned by the server's lifespan."""
        while True:
            wait = self._acks_since + self._ack_delay - monotonic()
            if self._acks and not self._pending and not self._settled and wait > 0:
                # Acks alone wait for more acks until they are due, unless a message comes (it
                # does not carry them: a message's commit never waits on deletes that are not due).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
            else:
                await self._wake.wait()
            self._wake.clear()
            if self._commit_delay and 0 < len(self._pending) < self._max_batch // 8:
                # Light load: wait a moment so that this commit carries more than one message (as
                # PostgreSQL's commit_delay does). Under load batches are full and nobody waits.
                await asyncio.sleep(self._commit_delay)
            while self._pending or self._acks_due():
                self._idle.clear()
                acks: dict[DeviceId, MailboxPos] = {}
                if self._acks_due():
                    acks, self._acks = self._acks, {}
                self._acks_writing = acks
                try:
                    if self._pending:
                        await self._write_batch(list(acks.items()))
                    elif acks:
                        try:
                            await self._mailbox.ack(list(acks.items()))
                            if self._on_acks is not None:
                                self._on_acks(len(acks))
                        except DomainError:
                            # The items stay and are delivered again: at-least-once, deduplicated
                            # by clients.
                            log.warning("could not delete %d acknowledged mailbox ranges", len(acks))
                finally:
                    self._acks_writing = {}
                    settled, self._settled = self._settled, []
                    for waiter in settled:
                        if not waiter.done():
                            waiter.set_result(None)
            if not self._pending and not self._acks:
                self._idle.set()

    def _acks_due(self) -> bool:
        """Acks are committed once they waited ``ack_delay_s`` (with the next message's batch if
        one is under way), or at once when someone waits for them (``settle_acks``)."""
        if not self._acks:
            return False
        return not self._ack_delay or bool(self._settled) or monotonic() - self._acks_since >= self._ack_delay

    async def _write_batch(self, acks: list[tuple[DeviceId, MailboxPos]]) -> None:
        """Store one batch, with the acks gathered meanwhile, in one transaction. If it fails, the
        acks are lost too: their items are delivered again (at-least-once; clients deduplicate)."""
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        started = perf_counter()
        try:
            results = await self._mailbox.append([message for message, _ in batch], acks=acks)
        except DomainError as exc:
            for _, done in batch:
                done(exc)
            return
        except Exception:
            log.exception("storing a batch of %d messages failed", len(batch))
            error = Unavailable("the message could not be stored; send it again")
            for _, done in batch:
                done(error)
            return
        if self._on_batch is not None:
            self._on_batch(len(batch), perf_counter() - started)
        for (_, done), result in zip(batch, results, strict=True):
            done(result)
        if self.on_committed is not None:
            self.on_committed(results)
