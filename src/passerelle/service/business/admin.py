"""``BusinessAdmin``: what the operator does (docs/business.md section 1) — businesses and their
profiles and verified flag, business accounts (WABAs), business numbers and system-user tokens.

Rules:
- Ids come from the ``IdGenerator``'s secrets: a business id is ``bz_`` + 22 URL-safe characters,
  WABA and phone-number ids are 15 digits; a business's person-id key is 32 random bytes.
- A system-user token is shown once, when made; the store keeps its SHA-256 only. Revoking is at
  once and for good. ``authenticate`` is the one way from a bearer token to a business (190 else).
- A slug and a display number are unique in the deployment (``Conflict``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    WabaId,
    normalize_display_number,
    normalize_slug,
    numeric_id_from,
    token_hash,
)
from passerelle.domain.business.quality import Quality
from passerelle.domain.business.tiers import Tier
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessProfile,
    BusinessRecord,
    NumberRecord,
    SystemTokenRecord,
)
from passerelle.service.ports import Clock, IdGenerator

TOKEN_PREFIX = "pbt_"
MAX_NAME = 128
MAX_TEXT = 512
MAX_LABEL = 64
NO_BUSINESS = "no such business"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewToken:
    record: SystemTokenRecord
    token: str
    """The bearer token itself: shown once."""


def check_profile(profile: BusinessProfile) -> BusinessProfile:
    name = profile.name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise InvalidInput(f"name: 1 to {MAX_NAME} characters")
    for field in ("about", "description", "logo_url", "website", "email", "category"):
        if len(getattr(profile, field)) > MAX_TEXT:
            raise InvalidInput(f"{field}: at most {MAX_TEXT} characters")
    for field in ("logo_url", "website"):
        value = getattr(profile, field)
        if value and not value.startswith(("https://", "http://")):
            raise InvalidInput(f"{field}: an http(s) URL")
    if profile.email and "@" not in profile.email:
        raise InvalidInput("email: an e-mail address")
    return BusinessProfile(
        name=name,
        about=profile.about,
        description=profile.description,
        logo_url=profile.logo_url,
        website=profile.website,
        email=profile.email,
        category=profile.category,
    )


class BusinessAdmin:
    def __init__(self, *, store: BusinessStore, clock: Clock, ids: IdGenerator) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    # -- businesses ------------------------------------------------------------------------------

    async def create(self, slug: str, profile: BusinessProfile, *, verified: bool = False) -> BusinessRecord:
        record = BusinessRecord(
            id=BusinessId("bz_" + self._ids.token()[:22]),
            slug=normalize_slug(slug),
            profile=check_profile(profile),
            verified=verified,
            created_at=self._clock.now_ms(),
            secret=self._random(),
        )
        if not await self._store.create_business(record):
            raise Conflict(f"the address biz:{record.slug} is taken")
        return record

    async def get(self, business: str) -> BusinessRecord:
        found = await self._store.get_business(BusinessId(business))
        if found is None:
            raise NotFound(NO_BUSINESS)
        return found

    async def all(self) -> list[BusinessRecord]:
        return await self._store.list_businesses()

    async def update(
        self, business: str, *, profile: BusinessProfile | None = None, verified: bool | None = None
    ) -> BusinessRecord:
        current = await self.get(business)
        new_profile = current.profile if profile is None else check_profile(profile)
        new_verified = current.verified if verified is None else verified
        if not await self._store.update_business(current.id, new_profile, new_verified):
            raise NotFound(NO_BUSINESS)
        return await self.get(business)

    # -- business accounts and numbers ------------------------------------------------------------

    async def add_account(self, business: str, name: str) -> BusinessAccountRecord:
        owner = await self.get(business)
        name = name.strip() or owner.profile.name
        if len(name) > MAX_NAME:
            raise InvalidInput(f"name: at most {MAX_NAME} characters")
        record = BusinessAccountRecord(
            id=WabaId(numeric_id_from(self._random())),
            business=owner.id,
            name=name,
            tier=Tier.TIER_250,
            created_at=self._clock.now_ms(),
        )
        await self._store.create_business_account(record)
        return record

    async def accounts(self, business: str) -> list[BusinessAccountRecord]:
        owner = await self.get(business)
        return await self._store.business_accounts(owner.id)

    async def add_number(self, business: str, waba: str, display_number: str) -> NumberRecord:
        owner = await self.get(business)
        account = await self._store.get_business_account(WabaId(waba))
        if account is None or account.business != owner.id:
            raise NotFound("this business has no such business account")
        record = NumberRecord(
            id=PhoneNumberId(numeric_id_from(self._random())),
            waba=account.id,
            business=owner.id,
            display_number=normalize_display_number(display_number),
            quality=Quality.UNKNOWN,
            created_at=self._clock.now_ms(),
        )
        if not await self._store.create_number(record):
            raise Conflict(f"the display number +{record.display_number} is taken")
        return record

    async def numbers(self, business: str) -> list[NumberRecord]:
        owner = await self.get(business)
        return await self._store.numbers_of(owner.id)

    # -- system-user tokens -----------------------------------------------------------------------

    async def create_token(self, business: str, label: str) -> NewToken:
        owner = await self.get(business)
        label = label.strip()
        if len(label) > MAX_LABEL:
            raise InvalidInput(f"label: at most {MAX_LABEL} characters")
        token = TOKEN_PREFIX + self._ids.token()
        record = SystemTokenRecord(
            id=SystemTokenId("st_" + self._ids.token()[:16]),
            business=owner.id,
            label=label,
            created_at=self._clock.now_ms(),
        )
        await self._store.create_system_token(record, token_hash=token_hash(token))
        return NewToken(record=record, token=token)

    async def tokens(self, business: str) -> list[SystemTokenRecord]:
        owner = await self.get(business)
        return await self._store.system_tokens(owner.id)

    async def revoke_token(self, business: str, token: str) -> None:
        owner = await self.get(business)
        if not await self._store.revoke_system_token(owner.id, SystemTokenId(token), at=self._clock.now_ms()):
            raise NotFound("this business has no such valid token")

    async def authenticate(self, token: str) -> SystemTokenRecord:
        """The valid system-user token ``token`` is, or the Cloud API's 190."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            raise CloudApiError(Failure.BAD_TOKEN)
        found = await self._store.resolve_system_token(token_hash(token))
        if found is None:
            raise CloudApiError(Failure.BAD_TOKEN)
        return found

    def _random(self) -> bytes:
        return hashlib.sha256(self._ids.token().encode()).digest()
