"""``MemoryHandOffStore``: the ``HandOffStore`` port on a ``MemoryStore``'s database (tests and
trials). Each method is one atomic transaction: one yield, then no await."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.handoff_ports import NEXT, HandOffRecord, HandOffStatus, HandOffStore
from passerelle.storage.memory.business_tables import BusinessTables
from passerelle.storage.memory.store import MemoryStore


class MemoryHandOffStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> BusinessTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.business

    async def open_handoff(self, record: HandOffRecord, *, cap: int) -> tuple[HandOffRecord, bool] | None:
        t = await self._begin()
        if record.business not in t.businesses:
            return None
        active = [h for h in t.handoffs.values() if h.business == record.business and h.active]
        for found in active:
            if found.account == record.account:
                return found, False
        if len(active) >= cap:
            return None
        t.handoffs[record.id] = record
        return record, True

    async def get_handoff(self, business: BusinessId, handoff: str) -> HandOffRecord | None:
        found = (await self._begin()).handoffs.get(handoff)
        return found if found is not None and found.business == business else None

    async def active_handoffs(self, business: BusinessId, *, limit: int) -> list[HandOffRecord]:
        t = await self._begin()
        found = [h for h in t.handoffs.values() if h.business == business and h.active]
        return sorted(found, key=lambda h: (h.created_at, h.id))[:limit]

    async def move_handoff(
        self, business: BusinessId, handoff: str, to: HandOffStatus, *, agent: str, at: Timestamp
    ) -> HandOffRecord | None:
        t = await self._begin()
        found = t.handoffs.get(handoff)
        if found is None or found.business != business or found.status not in NEXT[to]:
            return None
        moved = replace(
            found, status=to, agent=agent or found.agent, updated_at=Timestamp(max(at, found.updated_at))
        )
        t.handoffs[handoff] = moved
        return moved

    async def forget_handoffs_of(self, account: AccountId) -> None:
        t = await self._begin()
        for key in [k for k, h in t.handoffs.items() if h.account == account]:
            del t.handoffs[key]

    async def forget_handoffs_before(self, before: Timestamp) -> int:
        t = await self._begin()
        gone = [k for k, h in t.handoffs.items() if not h.active and h.updated_at < before]
        for key in gone:
            del t.handoffs[key]
        return len(gone)


def _implements_the_port(store: MemoryHandOffStore) -> HandOffStore:
    return store  # mypy checks here that MemoryHandOffStore is a HandOffStore
