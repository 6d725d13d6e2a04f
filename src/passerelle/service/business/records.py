"""What the business store keeps: frozen records, one per row."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from passerelle.domain.business.consent import Category, ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    TemplateId,
    UserId,
    WabaId,
    WaId,
)
from passerelle.domain.business.quality import Quality, SignalKind, TemplateStatus
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRecord:
    """A message template of a business account, unique by name and language in it."""

    id: TemplateId
    waba: WabaId
    name: str
    language: str
    category: Category
    parameter_format: str
    """``POSITIONAL`` (``{{1}}``) or ``NAMED`` (``{{first_name}}``)."""
    components: str
    """The components as the JSON text the business sent (checked when created)."""
    status: TemplateStatus
    quality: Quality
    rejected_reason: str = ""
    pauses: int = 0
    """How many times low quality paused it (the third RED disables it)."""
    paused_until: Timestamp | None = None
    created_at: Timestamp
    updated_at: Timestamp

    def status_at(self, now: Timestamp) -> TemplateStatus:
        """The status a send sees at ``now``: a pause that has run out is over (the evaluation job
        writes it back as ``APPROVED`` when it next runs)."""
        if (
            self.status is TemplateStatus.PAUSED
            and self.paused_until is not None
            and self.paused_until <= now
        ):
            return TemplateStatus.APPROVED
        return self.status


class TemplateAdded(enum.Enum):
    """What ``BusinessStore.add_template`` did."""

    ADDED = "added"
    TAKEN = "taken"
    """The business account has a template of that name and language already."""
    FULL = "full"
    """The business account holds as many templates as it may."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRecord:
    """A negative signal: at most one per (business account, person, kind), the latest."""

    waba: WabaId
    account: AccountId
    kind: SignalKind
    number: str
    """The number that last reached the person outside a window, or '' when none did."""
    template: str
    """The template of that reach, or ''."""
    at: Timestamp
    reason: str = ""
    """A report's reason, a mismatch's declared and observed kinds; '' for a block or a stop."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateReach:
    """The last time a template from a number reached a person outside a window."""

    waba: WabaId
    number: PhoneNumberId
    template: TemplateId
    account: AccountId
    at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class ReachClaim:
    """A template that passed admission outside a window, to be recorded (``note_templates_sent``):
    its reach, and whether it may reach the person against the business account's ``tier`` counted
    over the rolling 24 hours from ``since`` (a person already reached since then counts no more)."""

    reach: TemplateReach
    tier: Tier
    since: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityCounts:
    """What a business account's quality rests on, since some time: people reached outside a window
    and negative signals, per number and per template. ``signals`` maps (number, template, kind)
    to a count ('' where a signal could not be tied to a number or template)."""

    reached_by_number: dict[str, int]
    reached_by_template: dict[str, int]
    signals: dict[tuple[str, str, SignalKind], int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """A business account's last tier evaluation."""

    waba: WabaId
    red_streak: int
    """Evaluations in a row at which its worst number was RED."""
    evaluated_at: Timestamp
