"""``MemoryLinkStore``: the ``LinkStore`` port on a ``MemoryStore``'s database (tests and trials).
Each method is one atomic transaction: one yield, then no await."""

from __future__ import annotations

import asyncio

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.links.ports import LinkGroup, LinkStore
from passerelle.storage.memory.business_tables import BusinessTables
from passerelle.storage.memory.store import MemoryStore


class MemoryLinkStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> BusinessTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.business

    async def put_link_request(self, account: AccountId, code_hash: str, expires_at: Timestamp) -> None:
        t = await self._begin()
        for key in [k for k, (a, _) in t.link_requests.items() if a == account]:
            del t.link_requests[key]
        t.link_requests[code_hash] = (account, expires_at)

    async def take_link_request(self, code_hash: str, now: Timestamp) -> AccountId | None:
        found = (await self._begin()).link_requests.pop(code_hash, None)
        return None if found is None or found[1] <= now else found[0]

    async def link_accounts(
        self, a: AccountId, b: AccountId, person: str, at: Timestamp, *, cap: int
    ) -> LinkGroup | None:
        t = await self._begin()
        first, second = _group(t, a), _group(t, b)
        if first is not None and second is not None and first.person == second.person:
            return first
        total = (1 if first is None else len(first.accounts)) + (
            1 if second is None else len(second.accounts)
        )
        if total > cap:
            return None
        into = first.person if first is not None else second.person if second is not None else person
        if first is None:
            t.link_of[a] = (into, at)
        if second is None:
            t.link_of[b] = (into, at)
        elif second.person != into:
            for account, (_, when) in list(t.link_of.items()):
                if account in second.accounts:
                    t.link_of[account] = (into, when)
            for p, business in [k for k in t.identity_shares if k[0] == second.person]:
                t.identity_shares.setdefault((into, business), t.identity_shares.pop((p, business)))
        return _group(t, a)

    async def link_group(self, account: AccountId) -> LinkGroup | None:
        return _group(await self._begin(), account)

    async def unlink_account(self, account: AccountId) -> bool:
        return _unlink(await self._begin(), account)

    async def set_share(self, person: str, business: BusinessId, shared: bool, at: Timestamp) -> bool:
        t = await self._begin()
        if business not in t.businesses:
            return False
        if shared:
            t.identity_shares.setdefault((person, business), at)
        else:
            t.identity_shares.pop((person, business), None)
        return True

    async def shares_of(self, person: str) -> list[BusinessId]:
        t = await self._begin()
        return sorted(b for p, b in t.identity_shares if p == person)

    async def forget_links_of(self, account: AccountId) -> None:
        t = await self._begin()
        for key in [k for k, (a, _) in t.link_requests.items() if a == account]:
            del t.link_requests[key]
        _unlink(t, account)


def _group(t: BusinessTables, account: AccountId) -> LinkGroup | None:
    found = t.link_of.get(account)
    if found is None:
        return None
    members = sorted((when, a) for a, (p, when) in t.link_of.items() if p == found[0])
    return LinkGroup(person=found[0], accounts=tuple(a for _, a in members))


def _unlink(t: BusinessTables, account: AccountId) -> bool:
    group = _group(t, account)
    if group is None:
        return False
    del t.link_of[account]
    if len(group.accounts) <= 2:
        for other in group.accounts:
            t.link_of.pop(other, None)
        for key in [k for k in t.identity_shares if k[0] == group.person]:
            del t.identity_shares[key]
    return True


def _implements_the_port(store: MemoryLinkStore) -> LinkStore:
    return store
