"""``BusinessPeople``: what people do with businesses (docs/business.md sections 2, 3 and 8) —
find one by ``biz:<slug>`` or display number, get their opaque ids at a business, and keep their
consent ledger (opt in, revoke, list, export, erase).

Rules:
- Finding answers the public profile only; an unknown address and an unknown number are the same
  ``NotFound``.
- A person's ids at a business are derived (``domain.business.ids``) and claimed in the store; a
  collision with another person's ids derives again with the next attempt.
- Only the person changes their consent; every change is one row of the ledger and sets the current
  state at once, for every app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from passerelle.domain.business.consent import ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import (
    BusinessId,
    UserId,
    WaId,
    derive_user_id,
    derive_wa_id,
    normalize_display_number,
    normalize_slug,
)
from passerelle.domain.business.tiers import VOLUME_WINDOW_MS
from passerelle.domain.errors import InvalidInput, NotFound, Unavailable
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import BusinessPerson, BusinessRecord, ConsentRecord, NumberRecord
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import Clock

if TYPE_CHECKING:
    from passerelle.service.links.links import Links

MAX_ATTEMPTS = 16
NO_BUSINESS = "no business has that address or number"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundBusiness:
    business: BusinessRecord
    numbers: tuple[NumberRecord, ...]


class BusinessPeople:
    def __init__(
        self,
        *,
        store: BusinessStore,
        clock: Clock,
        on_consent: Callable[[ConsentRecord], Awaitable[None]] | None = None,
        limiter: RateLimiter | None = None,
        limits: Limits | None = None,
        links: Links | None = None,
    ) -> None:
        self._links = links
        """A person's linked accounts: one customer where the person shares (section 3.1)."""
        self._limiter = limiter
        self._limits = limits or Limits()
        self._store = store
        self._clock = clock
        self._on_consent = on_consent
        """Told of each change once it is recorded (the ``user_preferences`` webhook)."""

    async def find(self, query: str) -> FoundBusiness:
        """By address (``biz:velo-paris``) or display number (``+33 1 23 45 67 89``)."""
        text = query.strip()
        if not text or len(text) > 64:
            raise InvalidInput("look a business up by its address (biz:name) or its number")
        business: BusinessRecord | None
        if text.lower().startswith("biz:"):
            business = await self._store.find_business(normalize_slug(text))
        else:
            try:
                digits = normalize_display_number(text)
            except InvalidInput:
                raise InvalidInput("look a business up by its address (biz:name) or its number") from None
            number = await self._store.find_number(digits)
            business = None if number is None else await self._store.get_business(number.business)
        if business is None:
            raise NotFound(NO_BUSINESS)
        return FoundBusiness(business=business, numbers=tuple(await self._store.numbers_of(business.id)))

    async def get(self, business: str) -> FoundBusiness:
        found = await self._store.get_business(BusinessId(business))
        if found is None:
            raise NotFound(NO_BUSINESS)
        return FoundBusiness(business=found, numbers=tuple(await self._store.numbers_of(found.id)))

    # -- per-business ids -------------------------------------------------------------------------

    async def ids_at(self, business: BusinessRecord, account: AccountId) -> BusinessPerson:
        return await person_ids(self._store, self._clock, business, account, self._links)

    async def reply_route(self, business: BusinessId, found: BusinessPerson) -> tuple[BusinessPerson, bool]:
        """Whom a reply to ``found``'s ids reaches, and whether they are a linked customer (section
        3.1). Shared linked accounts: the one that last wrote to the business or ordered there (its
        window's inbound time; a receipt is not one), else the account owning the ids. Ids a linked
        account had on its own before the share, and everyone else: ``found`` as it is."""
        if self._links is None:
            return found, False
        accounts = await self._links.accounts_at(business, found.account)
        if len(accounts) < 2 or await self._links.customer(business, found.account) != found.account:
            return found, False
        best, latest = found.account, await self._store.last_inbound(business, found.account)
        for member in accounts:
            at = await self._store.last_inbound(business, member)
            if at is not None and (latest is None or at > latest):
                best, latest = member, at
        return replace(found, account=best), True

    async def shares(self, business: BusinessId, account: AccountId) -> bool:
        """The account is one of a person's linked accounts shared with the business."""
        return self._links is not None and len(await self._links.accounts_at(business, account)) > 1

    async def person(
        self,
        business: BusinessId,
        *,
        account: AccountId | None = None,
        wa_id: str | None = None,
        user_id: str | None = None,
    ) -> BusinessPerson:
        """A person at the business by exactly one of their account (ids given on first need), their
        ``wa_id`` or their ``user_id`` (only people the business already has ids for)."""
        if sum(x is not None for x in (account, wa_id, user_id)) != 1:
            raise InvalidInput("give exactly one of account_id, wa_id and user_id")
        found: BusinessPerson | None
        if account is not None:
            record = await self._store.get_business(business)
            if record is None:
                raise NotFound(NO_BUSINESS)
            return await self.ids_at(record, account)
        if wa_id is not None:
            found = await self._store.person_by_wa_id(business, WaId(wa_id))
        else:
            found = await self._store.person_by_user_id(business, UserId(str(user_id)))
        if found is None:
            raise NotFound("no such person at this business")
        return found

    # -- consent ----------------------------------------------------------------------------------

    async def set_consent(
        self, account: AccountId, business: str, scope: str, *, granted: bool, source: str
    ) -> ConsentRecord:
        owner = await self.get(business)
        if self._limiter is not None:
            limits = self._limits
            await self._limiter.check(
                "consent:account",
                account,
                rate=limits.consent_changes_per_hour / 3600,
                burst=limits.consent_change_burst,
            )
        accounts = (
            (account,) if self._links is None else await self._links.accounts_at(owner.business.id, account)
        )
        change = ConsentRecord(
            account=account,
            business=owner.business.id,
            scope=_scope(scope),
            state=ConsentState.GRANTED if granted else ConsentState.REVOKED,
            source=_source(source),
            at=self._clock.now_ms(),
        )
        for each in accounts:  # one customer where the person shares: STOP on one app stops all
            await self._store.record_consent(replace(change, account=each))
        if self._on_consent is not None:
            await self._on_consent(change)
        return change

    async def consents(self, account: AccountId) -> list[ConsentRecord]:
        return await self._store.consents_of(account)

    async def ledger(self, account: AccountId) -> list[ConsentRecord]:
        return await self._store.consent_ledger(account)

    async def erase_account(self, account: AccountId) -> None:
        await self._store.forget_business_person(account)

    async def delete_expired(self, now: Timestamp) -> int:
        """The janitor's part: reach older than the longest period a tier looks at (7 days)."""
        return await self._store.forget_reach_before(Timestamp(now - VOLUME_WINDOW_MS))


def _scope(text: str) -> Scope:
    try:
        return Scope(text)
    except ValueError:
        raise InvalidInput("scope: marketing, utility or authentication") from None


def _source(text: str) -> ConsentSource:
    try:
        return ConsentSource(text)
    except ValueError:
        raise InvalidInput(f"source: one of {', '.join(s.value for s in ConsentSource)}") from None


__all__ = ["BusinessPeople", "FoundBusiness"]


async def person_ids(
    store: BusinessStore,
    clock: Clock,
    business: BusinessRecord,
    account: AccountId,
    links: Links | None = None,
) -> BusinessPerson:
    """The person's ids at the business (``wa_id``, ``user_id``), given on first need and kept. Where
    the person shares their linked accounts, the ids are the first linked account's, with ``account``
    the one asked about (whom a reply reaches)."""
    customer = account if links is None else await links.customer(business.id, account)
    found = await _ids_of(store, clock, business, customer)
    return found if customer == account else replace(found, account=account)


async def _ids_of(
    store: BusinessStore, clock: Clock, business: BusinessRecord, account: AccountId
) -> BusinessPerson:
    known = await store.business_person(business.id, account)
    if known is not None:
        return known
    now = clock.now_ms()
    for attempt in range(MAX_ATTEMPTS):
        person = BusinessPerson(
            business=business.id,
            account=account,
            wa_id=derive_wa_id(business.secret, account, attempt),
            user_id=derive_user_id(business.secret, account, attempt),
            created_at=now,
        )
        claimed = await store.claim_person(person)
        if claimed is not None:
            return claimed
    raise Unavailable("could not give this person an id at this business")  # pragma: no cover
