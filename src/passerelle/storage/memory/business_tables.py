"""The business tables of ``MemoryDatabase`` (the counterpart of migration ``business``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from passerelle.domain.business.consent import Scope
from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    TemplateId,
    UserId,
    WabaId,
    WaId,
)
from passerelle.domain.business.quality import SignalKind
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.handoff_ports import HandOffRecord
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessPerson,
    BusinessRecord,
    ConsentRecord,
    Evaluation,
    NumberRecord,
    SignalRecord,
    SystemTokenRecord,
    TemplateReach,
    TemplateRecord,
)
from passerelle.service.business.webhook_ports import OutboxEvent, WebhookConfig


@dataclass(slots=True)
class BusinessTables:
    businesses: dict[BusinessId, BusinessRecord] = field(default_factory=dict)
    slugs: dict[str, BusinessId] = field(default_factory=dict)
    accounts: dict[WabaId, BusinessAccountRecord] = field(default_factory=dict)
    numbers: dict[PhoneNumberId, NumberRecord] = field(default_factory=dict)
    display_numbers: dict[str, PhoneNumberId] = field(default_factory=dict)
    tokens: dict[SystemTokenId, SystemTokenRecord] = field(default_factory=dict)
    token_hashes: dict[str, SystemTokenId] = field(default_factory=dict)
    people: dict[tuple[BusinessId, AccountId], BusinessPerson] = field(default_factory=dict)
    wa_ids: dict[tuple[BusinessId, WaId], AccountId] = field(default_factory=dict)
    user_ids: dict[tuple[BusinessId, UserId], AccountId] = field(default_factory=dict)
    consents: dict[tuple[AccountId, BusinessId, Scope], ConsentRecord] = field(default_factory=dict)
    ledger: list[ConsentRecord] = field(default_factory=list)
    inbound: dict[tuple[BusinessId, AccountId], Timestamp] = field(default_factory=dict)
    reach: dict[tuple[WabaId, AccountId], Timestamp] = field(default_factory=dict)
    blocked: dict[tuple[BusinessId, AccountId], Timestamp] = field(default_factory=dict)
    templates: dict[TemplateId, TemplateRecord] = field(default_factory=dict)
    template_reach: dict[tuple[PhoneNumberId, TemplateId, AccountId], TemplateReach] = field(
        default_factory=dict
    )
    signals: dict[tuple[WabaId, AccountId, SignalKind], SignalRecord] = field(default_factory=dict)
    evaluations: dict[WabaId, Evaluation] = field(default_factory=dict)
    webhooks: dict[BusinessId, WebhookConfig] = field(default_factory=dict)
    outbox: dict[int, OutboxEvent] = field(default_factory=dict)
    """The webhook outbox (migration ``webhooks``), in the order of the ids."""
    outbox_next_id: int = 1
    handoffs: dict[str, HandOffRecord] = field(default_factory=dict)
    """Hand-offs by id (migration ``0012_handoff``)."""
    link_of: dict[AccountId, tuple[str, Timestamp]] = field(default_factory=dict)
    """Account links (migration ``0016_links``): account -> (group, linked at)."""
    link_requests: dict[str, tuple[AccountId, Timestamp]] = field(default_factory=dict)
    identity_shares: dict[tuple[str, BusinessId], Timestamp] = field(default_factory=dict)
