"""The values of privacy and safety that cross the store port (contacts, blocks, requests, settings,
reports, export, erasure). Adapters return these, never driver rows."""

from __future__ import annotations

from dataclasses import dataclass

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MessageId, Timestamp
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom
from passerelle.service.business.records import ConsentRecord
from passerelle.service.commerce.ports import OrderRecord, PaymentRecord
from passerelle.service.records import AccountRecord, BlobRecord, ConversationRecord, DeviceRecord
from passerelle.service.stories.records import StoryRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class Relation:
    """Someone in one of my lists (contacts, blocks), and since when."""

    account: AccountId
    since: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """A direct conversation in my requests folder (or declined): who wrote, since when."""

    conv: ConversationId
    sender: AccountId
    state: MemberState
    since: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacySettings:
    message_from: MessageFrom = MessageFrom.EVERYONE
    last_seen: LastSeenVisibility = LastSeenVisibility.CONTACTS
    last_seen_at: Timestamp | None = None
    """When the person last connected or disconnected (None: never recorded)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportedMessage:
    """A message the reporter chose to reveal, decrypted on the reporter's device."""

    mid: MessageId | None
    client_id: str
    sender: AccountId
    ts: Timestamp
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRecord:
    id: str
    reporter: AccountId
    reported: AccountId
    conv: ConversationId | None
    reason: str
    created_at: Timestamp
    messages: tuple[ReportedMessage, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceExport:
    device: DeviceRecord
    one_time_keys: tuple[tuple[str, str], ...]
    """(key id, public key) of the one-time keys the server holds for the device."""
    fallback_key: tuple[str, str] | None
    token_expiries: tuple[Timestamp, ...]
    """The device's live tokens are stored as hashes: only their expiry is exported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxMeta:
    """An undelivered mailbox item, without its (ciphertext) body."""

    device: DeviceId
    pos: int
    kind: str
    conv: ConversationId
    sender: AccountId
    sender_device: DeviceId
    ts: Timestamp
    expires_at: Timestamp
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SentRecord:
    """The memory of a client message id the person sent (for idempotent sends)."""

    device: DeviceId
    client_id: str
    message_id: MessageId
    ts: Timestamp
    expires_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountExport:
    """Everything the server holds about one person, and nothing about anybody else."""

    account: AccountRecord
    settings: PrivacySettings
    devices: tuple[DeviceExport, ...]
    contacts: tuple[Relation, ...]
    blocks: tuple[Relation, ...]
    conversations: tuple[tuple[ConversationRecord, MemberState | None], ...]
    """Each conversation with the person's own state in it."""
    mailbox: tuple[MailboxMeta, ...]
    sent: tuple[SentRecord, ...]
    reports: tuple[ReportRecord, ...]
    """Reports the person made (never reports about them: those are the reporters' data)."""
    pending_code_expires_at: Timestamp | None
    uploads: tuple[BlobRecord, ...] = ()
    """Media the person uploaded (sizes and dates; the server never had the content or keys)."""
    stories: tuple[StoryRecord, ...] = ()
    """Stories the person posted that the server still holds."""
    group_bars: tuple[tuple[ConversationId, Timestamp], ...] = ()
    """Groups an admin removed the person from, and when (their invite links refuse the person)."""
    business_consents: tuple[ConsentRecord, ...] = ()
    """The person's consents to businesses now (docs/business.md section 8)."""
    business_consent_ledger: tuple[ConsentRecord, ...] = ()
    """Every consent change the person made, oldest first."""
    orders: tuple[tuple[OrderRecord, tuple[PaymentRecord, ...]], ...] = ()
    """The person's orders at businesses, with their payments (docs/commerce.md)."""
    linked_accounts: tuple[AccountId, ...] = ()
    """The person's accounts linked with this one, this one among them (docs/business.md 3.1)."""
    shared_with: tuple[str, ...] = ()
    """The businesses where the person chose to be one customer with them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasedAccount:
    """What an erasure removed, for the caches and connections to follow."""

    account: AccountId
    devices: tuple[DeviceId, ...]
    conversations: tuple[ConversationId, ...]
    """Conversations deleted: the direct ones and those left without members."""
