"""Last seen: when each person last connected or disconnected, written behind the connections.

``seen`` is called by the hub (synchronously, on connect and disconnect) and only notes the time;
the ``run`` task, owned by the app's lifespan, writes what was noted in one transaction per round,
so a burst of connections costs one write. What the person lets others see of it is decided by
``passerelle.service.privacy.privacy`` (their ``last_seen`` setting).
"""

from __future__ import annotations

import asyncio
import logging

from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.ports import Clock, PrivacyStore

log = logging.getLogger(__name__)
FLUSH_TIMEOUT_S = 2.0


class Presence:
    def __init__(self, *, store: PrivacyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._pending: dict[AccountId, Timestamp] = {}
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def seen(self, account: AccountId) -> None:
        self._pending[account] = self._clock.now_ms()
        self._idle.clear()
        self._ready.set()

    def forget(self, account: AccountId) -> None:
        """An erased account: nothing more is written for it."""
        self._pending.pop(account, None)

    async def idle(self) -> None:
        """Wait until everything noted so far is written (tests and shutdown)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Write noted times until cancelled; then write the last ones, within a short bound."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                await self._flush()
        except asyncio.CancelledError:
            if self._pending:
                try:
                    async with asyncio.timeout(FLUSH_TIMEOUT_S):
                        await self._flush()
                except TimeoutError:
                    log.warning("shut down with %d last-seen times unwritten", len(self._pending))
            raise

    async def _flush(self) -> None:
        batch, self._pending = self._pending, {}
        if batch:
            try:
                await self._store.record_last_seen(sorted(batch.items()))
            except asyncio.CancelledError:
                for account, ts in batch.items():
                    self._pending.setdefault(account, ts)
                raise
            except Exception:  # a task boundary: last seen is best effort, the loop goes on
                log.exception("could not record %d last-seen times", len(batch))
        if not self._pending:
            self._idle.set()
