"""Retention: delete what has expired. Runs periodically; ``run_once`` is what tests drive.

With several nodes, ``run`` does a round only while this node holds the ``lease`` (one node at a
time across the cluster; another takes it over when the holder dies). The rounds are idempotent
deletes, so a round that overlaps a new holder's first one does no harm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from passerelle.domain.errors import DomainError
from passerelle.domain.ids import Timestamp
from passerelle.service.ports import Clock, Lease, Mailbox

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
        lease: Lease | None = None,
        on_lease: Callable[[bool], None] | None = None,
    ) -> None:
        """``also``: more retention jobs, each called with "now" every round and returning how many
        records it deleted (media blobs: ``MediaService.delete_expired``). ``lease``: held to run a
        round (none: always); ``on_lease`` is told whether it is held at every round."""
        self._mailbox = mailbox
        self._clock = clock
        self._window_ms = idempotency_window_s * 1000
        self._on_deleted = on_deleted
        self._also = tuple(also)
        self._lease = lease
        self._on_lease = on_lease

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
        """Until cancelled (the lease is then given up). A failed round is logged and retried at the
        next interval; a node that does not hold the lease asks for it at every interval."""
        try:
            while True:
                held = self._lease is None or await self._lease.held()
                if self._on_lease is not None:
                    self._on_lease(held)
                if held:
                    try:
                        deleted = await self.run_once()
                        if deleted:
                            log.info("janitor deleted expired records", extra={"deleted": deleted})
                    except DomainError as exc:
                        log.warning("janitor round failed: %s", exc.code)
                await asyncio.sleep(interval_s)
        finally:
            if self._lease is not None:
                await self._lease.close()
