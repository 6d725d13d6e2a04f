"""Group commit for the admission of templates outside a window (docs/business.md section 5, rule 5).

A template that passed every other rule is handed over as a ``ReachClaim``; the writer's one task
takes everything pending and records it in ONE transaction (``BusinessStore.note_templates_sent``),
which judges each claim against the tier in order and answers whether it may go. So a campaign's
sends cost one commit per batch instead of one each, and the tier's count is exact: claims are
judged one after the other inside the transaction, never from a count read before others were
recorded.

There is no waiting for company: while a transaction is under way the next claims gather, and they
make the next batch (as the mailbox's ``SendPipeline``). The task starts with the first claim and
ends when nothing is pending. A claim whose caller was cancelled is still recorded (a transaction is
never cut in half); at most ``max_pending`` claims wait (a bound on what bots make the server hold;
the per-number throughput bucket comes first and keeps it far away).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from time import perf_counter

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.errors import DomainError, Unavailable
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import ReachClaim

log = logging.getLogger("passerelle.business")

MAX_BATCH = 512
MAX_PENDING = 20_000


class ReachWriter:
    def __init__(
        self,
        store: BusinessStore,
        *,
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._on_batch = on_batch
        """Told of each transaction: how many claims, how long it took (s)."""
        self._pending: list[tuple[ReachClaim, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def claim(self, claim: ReachClaim) -> bool:
        """Record ``claim`` with whatever else is pending: True when it may go, False when a new
        person would pass the tier's limit (nothing recorded)."""
        if len(self._pending) >= self._max_pending:
            raise CloudApiError(Failure.THROUGHPUT, "Too many sends are being recorded; retry shortly.")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((claim, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="business-reach-writer")
        return await future

    async def _run(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            started = perf_counter()
            try:
                admitted = await self._store.note_templates_sent([claim for claim, _ in batch])
            except DomainError as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except Exception:
                log.exception("recording a batch of %d template sends failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(Unavailable("the send could not be recorded; send it again"))
                continue
            if self._on_batch is not None:
                self._on_batch(len(batch), perf_counter() - started)
            for (_, future), ok in zip(batch, admitted, strict=True):
                if not future.done():
                    future.set_result(ok)
