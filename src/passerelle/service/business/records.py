"""What the business store keeps: frozen records, one per row."""

from __future__ import annotations

from dataclasses import dataclass

from passerelle.domain.business.consent import ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, SystemTokenId, UserId, WabaId, WaId
from passerelle.domain.business.quality import Quality
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessProfile:
    """What the operator sets and anyone may read."""

    name: str
    about: str = ""
    description: str = ""
    logo_url: str = ""
    website: str = ""
    email: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessRecord:
    id: BusinessId
    slug: str
    profile: BusinessProfile
    verified: bool
    created_at: Timestamp
    secret: bytes
    """The key of the per-business person ids (docs/business.md section 3); never leaves the server."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessAccountRecord:
    id: WabaId
    business: BusinessId
    name: str
    tier: Tier
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberRecord:
    id: PhoneNumberId
    waba: WabaId
    business: BusinessId
    display_number: str
    """Digits only (E.164 without ``+``)."""
    quality: Quality
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemTokenRecord:
    id: SystemTokenId
    business: BusinessId
    label: str
    created_at: Timestamp
    revoked_at: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessPerson:
    """A person's ids at one business."""

    business: BusinessId
    account: AccountId
    wa_id: WaId
    user_id: UserId
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentRecord:
    """A consent's state, or one change in the ledger."""

    account: AccountId
    business: BusinessId
    scope: Scope
    state: ConsentState
    source: ConsentSource
    at: Timestamp
