"""``MemoryEndpointStore``: the ``EndpointStore`` port on a ``MemoryStore``'s database (tests and
trials), with its tables (the counterpart of migration ``endpoints``). Each method is one atomic
transaction: one yield, then no await."""

from __future__ import annotations

import asyncio
import dataclasses

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, DeviceId, Timestamp
from passerelle.service.business.endpoint_ports import EndpointRecord, EndpointStore, EnrolmentRecord
from passerelle.storage.memory.endpoint_tables import EndpointTables
from passerelle.storage.memory.store import MemoryStore


class MemoryEndpointStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> EndpointTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.endpoints

    async def add_enrolment(self, enrolment: EnrolmentRecord, *, token_hash: str) -> bool:
        t = await self._begin()
        if enrolment.business not in self._store.database.business.businesses:
            return False
        t.enrolments[token_hash] = enrolment
        return True

    async def take_enrolment(self, token_hash: str, *, now: Timestamp) -> EnrolmentRecord | None:
        t = await self._begin()
        for key in [k for k, e in t.enrolments.items() if e.expires_at < now]:
            del t.enrolments[key]
        return t.enrolments.pop(token_hash, None)

    async def set_endpoint(self, endpoint: EndpointRecord) -> None:
        (await self._begin()).endpoints[endpoint.business] = endpoint

    async def endpoint_of(self, business: BusinessId) -> EndpointRecord | None:
        return (await self._begin()).endpoints.get(business)

    async def endpoint_by_account(self, account: AccountId) -> EndpointRecord | None:
        t = await self._begin()
        return next((e for e in t.endpoints.values() if e.account == account), None)

    async def set_statement(
        self, business: BusinessId, device: DeviceId, *, statement: str, signature: str
    ) -> bool:
        t = await self._begin()
        current = t.endpoints.get(business)
        if current is None or current.device != device:
            return False
        t.endpoints[business] = dataclasses.replace(current, statement=statement, signature=signature)
        return True

    async def endpoints(self) -> list[EndpointRecord]:
        t = await self._begin()
        return [t.endpoints[b] for b in sorted(t.endpoints)]


_: type[EndpointStore] = MemoryEndpointStore
