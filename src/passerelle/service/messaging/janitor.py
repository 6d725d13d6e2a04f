"""Retention: delete what has expired. Runs periodically; ``run_once`` is what tests drive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from passerelle.domain.errors import DomainError
from passerelle.domain.ids import Timestamp
from passerelle.service.ports import Clock, Mailbox

log = logging.getLogger("passerelle.janitor")


class Janitor:
    def __init__(
        self,
        *,
        mailbox: Mailbox,
        clock: Clock,
        idempotency_window_s: int,
        on_deleted: Callable[[int], None] | None = None,
        also: Sequence[Callable[[Timestamp], Awaitable[int]]] = (),
    ) -> None:
        """``also``: more retention jobs, each called with "now" every round and returning how many
        records it deleted (media blobs: ``MediaService.delete_expired``)."""
        self._mailbox = mailbox
        self._clock = clock
        self._window_ms = idempotency_window_s * 1000
        self._on_deleted = on_deleted
        self._also = tuple(also)

    async def run_once(self) -> int:
        now = self._clock.now_ms()
        deleted = await self._mailbox.delete_expired(
            now=now, idempotency_before=Timestamp(now - self._window_ms)
        )
        for job in self._also:
            deleted += await job(now)
        if self._on_deleted is not None:
            self._on_deleted(deleted)
        return deleted

    async def run(self, interval_s: float) -> None:
        """Until cancelled. A failed round is logged and retried at the next interval."""
        while True:
            try:
                deleted = await self.run_once()
                if deleted:
                    log.info("janitor deleted expired records", extra={"deleted": deleted})
            except DomainError as exc:
                log.warning("janitor round failed: %s", exc.code)
            await asyncio.sleep(interval_s)
