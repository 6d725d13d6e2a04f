"""``BusinessStore``: the one port of the business services. Every method is one transaction."""

from __future__ import annotations

from typing import Protocol

from passerelle.domain.business.ids import BusinessId, PhoneNumberId, SystemTokenId, UserId, WabaId, WaId
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessPerson,
    BusinessProfile,
    BusinessRecord,
    ConsentRecord,
    NumberRecord,
    SystemTokenRecord,
)


class BusinessStore(Protocol):
    # -- businesses ------------------------------------------------------------------------------

    async def create_business(self, business: BusinessRecord) -> bool:
        """False (and nothing written) when the slug is taken."""
        ...

    async def get_business(self, business: BusinessId) -> BusinessRecord | None: ...

    async def find_business(self, slug: str) -> BusinessRecord | None: ...

    async def list_businesses(self) -> list[BusinessRecord]:
        """Every business, by slug."""
        ...

    async def update_business(self, business: BusinessId, profile: BusinessProfile, verified: bool) -> bool:
        """False when there is no such business."""
        ...

    # -- business accounts and numbers ------------------------------------------------------------

    async def create_business_account(self, account: BusinessAccountRecord) -> None: ...

    async def get_business_account(self, waba: WabaId) -> BusinessAccountRecord | None: ...

    async def business_accounts(self, business: BusinessId) -> list[BusinessAccountRecord]: ...

    async def create_number(self, number: NumberRecord) -> bool:
        """False (and nothing written) when the display number is taken."""
        ...

    async def get_number(self, number: PhoneNumberId) -> NumberRecord | None: ...

    async def find_number(self, display_number: str) -> NumberRecord | None: ...

    async def numbers_of(self, business: BusinessId) -> list[NumberRecord]: ...

    # -- system-user tokens -----------------------------------------------------------------------

    async def create_system_token(self, token: SystemTokenRecord, *, token_hash: str) -> None: ...

    async def system_tokens(self, business: BusinessId) -> list[SystemTokenRecord]:
        """Every token of the business, revoked ones too, oldest first."""
        ...

    async def revoke_system_token(self, business: BusinessId, token: SystemTokenId, *, at: Timestamp) -> bool:
        """False when the business has no such token still valid."""
        ...

    async def resolve_system_token(self, token_hash: str) -> SystemTokenRecord | None:
        """The valid (not revoked) token with this hash."""
        ...

    # -- per-business person ids ------------------------------------------------------------------

    async def claim_person(self, person: BusinessPerson) -> BusinessPerson | None:
        """The person's ids at the business: the stored ones if any, else ``person`` once written;
        None when its ``wa_id`` or ``user_id`` is another person's (derive again)."""
        ...

    async def business_person(self, business: BusinessId, account: AccountId) -> BusinessPerson | None: ...

    async def person_by_wa_id(self, business: BusinessId, wa_id: WaId) -> BusinessPerson | None: ...

    async def person_by_user_id(self, business: BusinessId, user_id: UserId) -> BusinessPerson | None: ...

    # -- the consent ledger -----------------------------------------------------------------------

    async def record_consent(self, change: ConsentRecord) -> None:
        """Set the consent's current state and add the change to the ledger."""
        ...

    async def consents_of(self, account: AccountId) -> list[ConsentRecord]:
        """The person's current consents, by business and scope."""
        ...

    async def consent_ledger(self, account: AccountId) -> list[ConsentRecord]:
        """Every change the person made, oldest first."""
        ...

    async def forget_business_person(self, account: AccountId) -> None:
        """Erasure: the person's ids at every business, consents and ledger, windows and reach."""
        ...

    # -- the window and the messaging limit ---------------------------------------------------------

    async def note_inbound(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        """The person wrote to the business at ``at`` (the window opens again; an older time is ignored)."""
        ...

    async def last_inbound(self, business: BusinessId, account: AccountId) -> Timestamp | None: ...

    async def note_reached(self, waba: WabaId, account: AccountId, *, at: Timestamp) -> None:
        """The business account reached the person outside a window at ``at`` (the latest time is kept)."""
        ...

    async def was_reached(self, waba: WabaId, account: AccountId, *, since: Timestamp) -> bool: ...

    async def reached_since(self, waba: WabaId, *, since: Timestamp) -> int:
        """Unique people the business account reached outside a window since ``since``."""
        ...

    async def forget_reach_before(self, before: Timestamp) -> int:
        """The janitor: reach older than any window that counts is deleted."""
        ...

    # -- people the business blocked (block_users) --------------------------------------------------

    async def block_person(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        """Idempotent: a repeated block keeps the first time."""
        ...

    async def unblock_person(self, business: BusinessId, account: AccountId) -> bool: ...

    async def is_blocked_by_business(self, business: BusinessId, account: AccountId) -> bool: ...

    async def blocked_by_business(self, business: BusinessId) -> list[BusinessPerson]:
        """The people the business blocked, oldest block first."""
        ...

    async def count_blocked_by_business(self, business: BusinessId) -> int: ...
