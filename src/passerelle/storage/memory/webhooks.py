"""``MemoryWebhookStore``: the ``WebhookStore`` port on a ``MemoryStore``'s database (tests and
trials). Each method is one atomic transaction: one yield, then no await."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import Timestamp
from passerelle.service.business.webhook_ports import OutboxEvent, WebhookConfig, WebhookStore
from passerelle.storage.memory.business_tables import BusinessTables
from passerelle.storage.memory.store import MemoryStore


class MemoryWebhookStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> BusinessTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.business

    async def set_webhook(self, config: WebhookConfig) -> bool:
        t = await self._begin()
        if config.business not in t.businesses:
            return False
        t.webhooks[config.business] = config
        return True

    async def get_webhook(self, business: BusinessId) -> WebhookConfig | None:
        return (await self._begin()).webhooks.get(business)

    async def clear_webhook(self, business: BusinessId) -> bool:
        return (await self._begin()).webhooks.pop(business, None) is not None

    async def enqueue(
        self, business: BusinessId, body: bytes, *, at: Timestamp, cap: int
    ) -> OutboxEvent | None:
        return self._enqueue(await self._begin(), business, body, at, cap)

    async def enqueue_many(
        self, business: BusinessId, bodies: Sequence[bytes], *, at: Timestamp, cap: int
    ) -> list[OutboxEvent | None]:
        t = await self._begin()
        return [self._enqueue(t, business, body, at, cap) for body in bodies]

    @staticmethod
    def _enqueue(
        t: BusinessTables, business: BusinessId, body: bytes, at: Timestamp, cap: int
    ) -> OutboxEvent | None:
        if business not in t.businesses or sum(1 for e in t.outbox.values() if e.business == business) >= cap:
            return None
        event = OutboxEvent(
            id=t.outbox_next_id, business=business, body=bytes(body), enqueued_at=at, attempts=0, next_at=at
        )
        t.outbox_next_id += 1
        t.outbox[event.id] = event
        return event

    @staticmethod
    def _heads(t: BusinessTables, skip: frozenset[BusinessId]) -> list[OutboxEvent]:
        heads: dict[BusinessId, OutboxEvent] = {}
        for event in t.outbox.values():  # in id order
            if event.business not in skip:
                heads.setdefault(event.business, event)
        return sorted(heads.values(), key=lambda e: (e.next_at, e.id))

    async def claim_due(
        self,
        now: Timestamp,
        *,
        skip: frozenset[BusinessId],
        limit: int,
        lease_until: Timestamp,
        batch: int = 1,
    ) -> list[OutboxEvent]:
        t = await self._begin()
        heads = [e for e in self._heads(t, skip) if e.next_at <= now][:limit]
        claimed: list[OutboxEvent] = []
        for head in heads:
            events = [head]
            for event in t.outbox.values():  # in id order
                if len(events) >= batch:
                    break
                if event.business == head.business and event.id > head.id:
                    if event.next_at > now:
                        break
                    events.append(event)
            for event in events:
                t.outbox[event.id] = dataclasses.replace(event, next_at=lease_until)
            claimed.extend(events)
        return claimed

    async def next_due(self, *, skip: frozenset[BusinessId]) -> Timestamp | None:
        heads = self._heads(await self._begin(), skip)
        return heads[0].next_at if heads else None

    async def settle(self, *, done: Sequence[int], retry: Sequence[OutboxEvent]) -> None:
        t = await self._begin()
        for gone in done:
            t.outbox.pop(gone, None)
        for event in retry:
            current = t.outbox.get(event.id)
            if current is not None:
                t.outbox[event.id] = dataclasses.replace(
                    current, attempts=event.attempts, next_at=event.next_at
                )

    async def pending(self, business: BusinessId) -> int:
        t = await self._begin()
        return sum(1 for e in t.outbox.values() if e.business == business)


def _implements_the_port(store: MemoryWebhookStore) -> WebhookStore:
    return store  # mypy checks here that MemoryWebhookStore is a WebhookStore
