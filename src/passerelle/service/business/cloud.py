"""``CloudControl``: the control plane of the Cloud API that the server answers itself (docs/business.md
section 6): who a system-user token is, the phone-number object and the business profile.

Rules:
- Every call starts from ``authenticate`` (190 when the token is not a valid system-user token).
- An object of another business is answered exactly as one that does not exist (100, subcode 33).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, UserId, WaId, is_numeric_id
from passerelle.domain.business.tiers import Tier
from passerelle.domain.business.window import window_open
from passerelle.service.business.admin import BusinessAdmin, check_profile
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessPerson,
    BusinessProfile,
    BusinessRecord,
    NumberRecord,
    SystemTokenRecord,
)
from passerelle.service.ports import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberView:
    number: NumberRecord
    business: BusinessRecord
    tier: Tier


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChange:
    """The Cloud API's profile members, None when not given."""

    about: str | None = None
    description: str | None = None
    email: str | None = None
    profile_picture_url: str | None = None
    websites: list[str] | None = None
    vertical: str | None = None


class CloudControl:
    def __init__(self, *, store: BusinessStore, admin: BusinessAdmin) -> None:
        self._store = store
        self._admin = admin

    async def authenticate(self, token: str) -> SystemTokenRecord:
        return await self._admin.authenticate(token)

    async def number(self, caller: SystemTokenRecord, object_id: str) -> NumberView:
        found = None
        if is_numeric_id(object_id):
            found = await self._store.get_number(PhoneNumberId(object_id))
        if found is None or found.business != caller.business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(object_id))
        business, account = await asyncio.gather(  # side by side: every bot request reads them
            self._store.get_business(found.business), self._store.get_business_account(found.waba)
        )
        if business is None or account is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(object_id))
        return NumberView(number=found, business=business, tier=account.tier)

    async def update_profile(self, caller: SystemTokenRecord, object_id: str, change: ProfileChange) -> None:
        view = await self.number(caller, object_id)
        p = view.business.profile
        website = p.website
        if change.websites is not None:
            website = change.websites[0] if change.websites else ""
        profile = BusinessProfile(
            name=p.name,
            about=p.about if change.about is None else change.about,
            description=p.description if change.description is None else change.description,
            logo_url=p.logo_url if change.profile_picture_url is None else change.profile_picture_url,
            website=website,
            email=p.email if change.email is None else change.email,
            category=p.category if change.vertical is None else change.vertical,
        )
        await self._store.update_business(view.business.id, check_profile(profile), view.business.verified)


def unknown_object_details(object_id: str) -> str:
    """Graph's wording for an id that does not exist or may not be seen."""
    return (
        f"Unsupported request. Object with ID '{object_id[:64]}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation."
    )


MAX_BLOCKED = 64_000


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRef:
    """One entry of a ``block_users`` request: what the bot wrote, as ``wa_id`` or ``user_id``."""

    input: str
    wa_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockOutcome:
    done: list[tuple[UserRef, BusinessPerson]]
    failed: list[tuple[UserRef, CloudApiError]]


class BlockUsers:
    """``/{phone_number_id}/block_users`` (docs/business.md section 8): the business blocks people
    who wrote to it in the last 24 hours (at most 64 000 in all), unblocks them, lists them."""

    def __init__(self, *, store: BusinessStore, cloud: CloudControl, clock: Clock) -> None:
        self._store = store
        self._cloud = cloud
        self._clock = clock

    async def _person(self, business: BusinessId, ref: UserRef) -> BusinessPerson | None:
        if ref.user_id is not None:
            return await self._store.person_by_user_id(business, UserId(ref.user_id))
        if ref.wa_id is not None:
            return await self._store.person_by_wa_id(business, WaId(ref.wa_id))
        return None

    async def block(self, caller: SystemTokenRecord, object_id: str, refs: list[UserRef]) -> BlockOutcome:
        view = await self._cloud.number(caller, object_id)
        business = view.business.id
        if await self._store.count_blocked_by_business(business) + len(refs) > MAX_BLOCKED:
            raise CloudApiError(Failure.BLOCK_LIMIT)
        now = self._clock.now_ms()
        outcome = BlockOutcome(done=[], failed=[])
        for ref in refs:
            person = await self._person(business, ref)
            last = None if person is None else await self._store.last_inbound(business, person.account)
            if person is None or not window_open(last, now):
                outcome.failed.append((ref, CloudApiError(Failure.BLOCK_USER)))
                continue
            await self._store.block_person(business, person.account, at=now)
            outcome.done.append((ref, person))
        return outcome

    async def unblock(self, caller: SystemTokenRecord, object_id: str, refs: list[UserRef]) -> BlockOutcome:
        view = await self._cloud.number(caller, object_id)
        business = view.business.id
        outcome = BlockOutcome(done=[], failed=[])
        for ref in refs:
            person = await self._person(business, ref)
            if person is None or not await self._store.unblock_person(business, person.account):
                outcome.failed.append((ref, CloudApiError(Failure.BLOCK_USER, "This person is not blocked.")))
                continue
            outcome.done.append((ref, person))
        return outcome

    async def blocked(self, caller: SystemTokenRecord, object_id: str) -> list[BusinessPerson]:
        view = await self._cloud.number(caller, object_id)
        return await self._store.blocked_by_business(view.business.id)
