"""``BusinessStore``: the one port of the business services. Every method is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    TemplateId,
    UserId,
    WabaId,
    WaId,
)
from passerelle.domain.business.quality import Quality, Signals, TemplateStatus
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessPerson,
    BusinessProfile,
    BusinessRecord,
    ConsentRecord,
    Evaluation,
    NumberRecord,
    QualityCounts,
    ReachClaim,
    SignalRecord,
    SystemTokenRecord,
    TemplateAdded,
    TemplateReach,
    TemplateRecord,
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

    async def reached_since(self, waba: WabaId, *, since: Timestamp, at_most: int | None = None) -> int:
        """Unique people the business account reached outside a window since ``since``, counted up to
        ``at_most`` (a send only needs to know whether the tier's limit is reached)."""
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

    # -- message templates ----------------------------------------------------------------------------

    async def add_template(self, template: TemplateRecord, *, cap: int) -> TemplateAdded:
        """Store a new template unless its business account has one of that name and language or
        holds ``cap`` templates already (under concurrent creations the count may pass ``cap`` by the
        number of them racing, never more)."""
        ...

    async def get_template(self, waba: WabaId, name: str, language: str) -> TemplateRecord | None: ...

    async def template_by_id(self, template: TemplateId) -> TemplateRecord | None: ...

    async def list_templates(
        self,
        waba: WabaId,
        *,
        limit: int,
        after: tuple[str, str] | None = None,
        name: str | None = None,
        status: TemplateStatus | None = None,
    ) -> list[TemplateRecord]:
        """At most ``limit`` templates of the business account ordered by (name, language), those
        after ``after`` (a (name, language) pair) only; ``name`` and ``status`` filter."""
        ...

    async def count_templates(self, waba: WabaId) -> int: ...

    async def delete_templates(
        self, waba: WabaId, name: str, *, template: TemplateId | None = None
    ) -> list[TemplateRecord]:
        """Delete the templates of that name in every language, or only the one with id ``template``
        (and that name); the deleted ones."""
        ...

    async def change_template(self, template: TemplateRecord, *, expected: TemplateStatus) -> bool:
        """Write ``template``'s status, quality, rejection reason, pauses and times, if its stored
        status is still ``expected`` (False, and nothing written, otherwise or when it is gone)."""
        ...

    async def templates_to_evaluate(self, *, after: TemplateId | None, limit: int) -> list[TemplateRecord]:
        """Every APPROVED or PAUSED template across the deployment, by id, ``limit`` at a time (the
        quality evaluation walks them)."""
        ...

    # -- quality and tiers -------------------------------------------------------------------------

    async def note_template_reach(self, reach: TemplateReach) -> None:
        """A template from a number reached a person outside a window (the latest time is kept)."""
        ...

    async def note_template_sent(self, reach: TemplateReach, *, new_person: bool) -> None:
        """One transaction for a template that went out outside a window: ``note_template_reach``,
        and ``note_reached`` too when it reached a new person against the tier."""
        ...

    async def note_templates_sent(self, claims: Sequence[ReachClaim]) -> list[bool]:
        """One transaction for a batch of templates that passed admission outside a window, judged
        against the tier in order: for each, True when it may go — the person was already reached
        since ``claim.since`` (only the template's reach is recorded), or is new and the business
        account's count since then is within ``claim.tier`` (both recorded, the count one more) —
        and False when a new person would pass the tier's limit (nothing recorded: 131064). The
        count is exact: the transaction holds the business account's row, so concurrent batches,
        on any node, are judged one after the other."""
        ...

    async def last_template_reach(
        self, waba: WabaId, account: AccountId, *, since: Timestamp
    ) -> TemplateReach | None:
        """The latest reach of the person by the business account since ``since``."""
        ...

    async def record_signal(self, signal: SignalRecord) -> None:
        """Keep the signal (replacing the person's earlier one of the same kind at that account)."""
        ...

    async def signals_of(self, waba: WabaId, *, limit: int) -> list[SignalRecord]:
        """The business account's signals (one per person and kind, the latest), newest first."""
        ...

    async def quality_counts(self, waba: WabaId, *, since: Timestamp) -> QualityCounts: ...

    async def template_signals(self, waba: WabaId, template: TemplateId, *, since: Timestamp) -> Signals:
        """One template's people reached and signals since ``since``."""
        ...

    async def set_number_quality(self, number: PhoneNumberId, quality: Quality) -> None: ...

    async def evaluation(self, waba: WabaId) -> Evaluation | None: ...

    async def save_evaluation(
        self, evaluation: Evaluation, *, tier: Tier, expected_at: Timestamp | None
    ) -> bool:
        """Write the tier and the evaluation if the last evaluation is still the one read
        (``expected_at``, None for none): two nodes evaluating at once move the tier once."""
        ...

    async def forget_quality_before(self, before: Timestamp) -> int:
        """The janitor: reach per template and signals older than ``before``."""
        ...
