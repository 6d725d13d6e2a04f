"""``Links``: a person links their own accounts on several apps, and chooses, business by business,
to be one customer there (docs/business.md section 3.1).

Rules:
- Proof of control of both accounts: a device of account A asks for a link request and gets a
  one-time code (256 bits, kept hashed, 10 minutes, one pending per account); a device of account B
  takes it. Each step is an authenticated request of that account, so neither account alone can link
  itself to another, and a code works once (replay) and only for the account that made it.
- At most ``MAX_LINKED`` accounts in one group. Only the person sees the group; any of its accounts
  may take any of them out.
- Not shared by default. Shared at a business, every linked account is known there by the ids of the
  linked account that got ids there first (``customer``); consent changes apply to all of them, and
  the orders of all of them are the person's order history there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.links.ports import LinkGroup, LinkStore
from passerelle.service.ports import Clock, IdGenerator

MAX_LINKED = 5
REQUEST_TTL_MS = 10 * 60 * 1000
NO_REQUEST = "no such link request (each works once, for 10 minutes)"


@dataclass(frozen=True, slots=True, kw_only=True)
class MyLinks:
    accounts: tuple[AccountId, ...]
    shared_with: tuple[BusinessId, ...]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class Links:
    def __init__(
        self, *, store: LinkStore, businesses: BusinessStore, clock: Clock, ids: IdGenerator
    ) -> None:
        self._store = store
        self._businesses = businesses
        self._clock = clock
        self._ids = ids

    async def request(self, account: AccountId) -> tuple[str, Timestamp]:
        """A one-time code for another of the person's accounts to take."""
        code = self._ids.token()
        expires = Timestamp(self._clock.now_ms() + REQUEST_TTL_MS)
        await self._store.put_link_request(account, _hash(code), expires)
        return code, expires

    async def accept(self, account: AccountId, code: str) -> MyLinks:
        if not code or len(code) > 128:
            raise InvalidInput("code: the link request's code")
        owner = await self._store.take_link_request(_hash(code), self._clock.now_ms())
        if owner is None:
            raise NotFound(NO_REQUEST)
        if owner == account:
            raise InvalidInput("take the code with another of your accounts")
        group = await self._store.link_accounts(
            owner, account, "lk_" + self._ids.token()[:22], self._clock.now_ms(), cap=MAX_LINKED
        )
        if group is None:
            raise Conflict(f"at most {MAX_LINKED} linked accounts")
        return await self.mine(account)

    async def mine(self, account: AccountId) -> MyLinks:
        group = await self._store.link_group(account)
        if group is None:
            return MyLinks(accounts=(), shared_with=())
        return MyLinks(accounts=group.accounts, shared_with=tuple(await self._store.shares_of(group.person)))

    async def unlink(self, account: AccountId, other: AccountId) -> MyLinks:
        group = await self._store.link_group(account)
        if group is None or other not in group.accounts:
            raise NotFound("not one of your linked accounts")
        await self._store.unlink_account(other)
        return await self.mine(account)

    async def share(self, account: AccountId, business: str, shared: bool) -> MyLinks:
        group = await self._store.link_group(account)
        if group is None:
            raise Conflict("link another of your accounts first")
        if not await self._store.set_share(group.person, BusinessId(business), shared, self._clock.now_ms()):
            raise NotFound("no business has that id")
        return await self.mine(account)

    async def export(self, account: AccountId) -> tuple[tuple[AccountId, ...], tuple[str, ...]]:
        found = await self.mine(account)
        return found.accounts, tuple(found.shared_with)

    async def forget(self, account: AccountId) -> None:
        await self._store.forget_links_of(account)

    # -- what businesses see -----------------------------------------------------------------------

    async def _shared_group(self, business: BusinessId, account: AccountId) -> LinkGroup | None:
        group = await self._store.link_group(account)
        if group is None or business not in await self._store.shares_of(group.person):
            return None
        return group

    async def accounts_at(self, business: BusinessId, account: AccountId) -> tuple[AccountId, ...]:
        """The accounts the business knows as this one customer (the account alone unless shared)."""
        group = await self._shared_group(business, account)
        return (account,) if group is None else group.accounts

    async def customer(self, business: BusinessId, account: AccountId) -> AccountId:
        """The account whose ids the business knows this person by: the linked account that got ids
        there first, when the person shares; else the account itself."""
        group = await self._shared_group(business, account)
        if group is None:
            return account
        first: tuple[Timestamp, AccountId] | None = None
        for member in group.accounts:
            known = await self._businesses.business_person(business, member)
            if known is not None and (first is None or known.created_at < first[0]):
                first = (known.created_at, member)
        return account if first is None else first[1]
