"""Privacy and safety (docs/protocol.md §9): contacts, blocks, message requests, settings, reports,
the operator's moderation list, export and erasure."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from passerelle.proto.rest.accounts import PublishedDevice
from passerelle.proto.rest.base import Answer, Body, Short, Text
from passerelle.proto.rest.business import ConsentOut
from passerelle.proto.rest.commerce import OrderOut
from passerelle.proto.rest.conversations import ConversationInfo

MAX_REPORTED_TEXT = 4096
"""Characters of one revealed message in a report (§9.5; the privacy service checks it again and says
which message is too long)."""
EXPORT_FORMAT = "passerelle-export-1"

Revealed = Annotated[str, msgspec.Meta(max_length=MAX_REPORTED_TEXT)]

# --- requests ---------------------------------------------------------------------------------------


class Decline(Body):
    """``POST /v1/conversations/{conv}/decline`` (the body may be left out)."""

    block: bool = False


class PrivacyChange(Body):
    """``PATCH /v1/me/privacy``: what is left out stays as it is."""

    findability: Literal["everyone", "app", "nobody"] | None = None
    read_receipts: bool | None = None
    message_from: Literal["everyone", "contacts"] | None = None
    last_seen: Literal["everyone", "contacts", "nobody"] | None = None


class RevealedMessage(Body):
    """A message whose plaintext a report reveals: its client ``id``, the server's ``mid`` if known."""

    id: Short
    sender: Short
    ts: int
    text: Revealed
    mid: int | None = None


class ReportRequest(Body):
    """``POST /v1/reports``."""

    account_id: Short
    messages: list[RevealedMessage]
    reason: Text = ""
    conv: Short | None = None
    block: bool = False


class Erase(Body):
    """``DELETE /v1/me``: the password, or on a phone app a fresh code."""

    password: Text | None = None
    code: Short | None = None


# --- answers ----------------------------------------------------------------------------------------


class Relation(Answer, frozen=True):
    """Someone in my contacts or my blocks, and since when (ms)."""

    account_id: str
    since: int


class Contacts(Answer, frozen=True):
    """``GET /v1/contacts``."""

    contacts: list[Relation]


class Blocks(Answer, frozen=True):
    """``GET /v1/blocks``."""

    blocks: list[Relation]


class MessageRequest(Answer, frozen=True):
    conv: str
    from_: str = msgspec.field(name="from")
    state: str = "request"
    since: int = 0


class MessageRequests(Answer, frozen=True):
    """``GET /v1/requests``."""

    requests: list[MessageRequest]


class ConversationState(Answer, frozen=True):
    """``accept`` ({"conv", "state"}) and ``decline`` (with ``blocked``)."""

    conv: str
    state: str
    blocked: bool | UnsetType = UNSET


class PrivacyChoices(Answer, frozen=True):
    """``GET`` and ``PATCH /v1/me/privacy``."""

    findability: str
    read_receipts: bool
    message_from: str
    last_seen: str


class Reported(Answer, frozen=True):
    """``POST /v1/reports`` (201)."""

    report_id: str


class ReportedMessage(Answer, frozen=True, kw_only=True):
    """A revealed message, as the operator reads it. Here and in the export, the Python names are
    those of the server's records (the server fills these answers by attribute); the wire names are
    the protocol's."""

    mid: int | None
    client_id: str = msgspec.field(name="id")
    sender: str
    ts: int
    text: str


class Report(Answer, frozen=True, kw_only=True):
    id: str = msgspec.field(name="report_id")
    reporter: str
    reported: str
    conv: str | None
    reason: str
    created_at: int
    messages: list[ReportedMessage]


class Reports(Answer, frozen=True):
    """``GET /v1/admin/reports`` (the operator's token)."""

    reports: list[Report]


# --- the export (§9.6) ------------------------------------------------------------------------------


class ExportedAccount(Answer, frozen=True):
    account_id: str
    app: str
    alias: str
    address: str
    display_name: str
    created_at: int
    has_password: bool


class ExportedSettings(Answer, frozen=True):
    findability: str | None
    read_receipts: bool
    message_from: str
    last_seen: str
    last_seen_at: int | None


class ExportedKey(Answer, frozen=True):
    key_id: str
    key: str


class ExportedToken(Answer, frozen=True):
    expires_at: int


class ExportedDevice(PublishedDevice, frozen=True):
    """A device of mine: its published keys, and what the server holds for it."""

    created_at: int
    one_time_keys: list[ExportedKey]
    fallback_key: ExportedKey | None
    tokens: list[ExportedToken]


class ExportedConversation(ConversationInfo, frozen=True, kw_only=True):
    created_at: int
    state: str | None
    """The caller's own state (§9.2); null in groups."""


class ExportedItem(Answer, frozen=True, kw_only=True):
    """An undelivered mailbox item's metadata (never its ciphertext)."""

    device: str = msgspec.field(name="device_id")
    pos: int
    kind: str
    conv: str | None
    sender: str | None = msgspec.field(name="from")
    sender_device: str | None = msgspec.field(name="from_device")
    ts: int
    expires_at: int | None
    size: int


class ExportedSent(Answer, frozen=True, kw_only=True):
    device: str = msgspec.field(name="device_id")
    client_id: str = msgspec.field(name="id")
    message_id: int | None = msgspec.field(name="mid")
    ts: int
    expires_at: int | None


class ExportedUpload(Answer, frozen=True, kw_only=True):
    id: str = msgspec.field(name="blob")
    conv: str
    size: int
    complete: bool
    created_at: int
    expires_at: int | None


class ExportedStory(Answer, frozen=True, kw_only=True):
    id: str = msgspec.field(name="story")
    created_at: int
    expires_at: int
    audience_size: int


class GroupBar(Answer, frozen=True):
    conv: str
    since: int


class PendingCode(Answer, frozen=True):
    expires_at: int


class ExportedConsents(Answer, frozen=True):
    """The caller's consents to businesses now, and every change they made (§15.1)."""

    current: list[ConsentOut]
    ledger: list[ConsentOut]


class Export(Answer, frozen=True, kw_only=True):
    """``GET /v1/me/export``: everything the server holds about the caller."""

    format: str = EXPORT_FORMAT
    exported_at: int
    account: ExportedAccount
    settings: ExportedSettings
    devices: list[ExportedDevice]
    contacts: list[Relation]
    blocks: list[Relation]
    conversations: list[ExportedConversation]
    mailbox: list[ExportedItem]
    sent: list[ExportedSent]
    reports: list[Report]
    uploads: list[ExportedUpload]
    stories: list[ExportedStory]
    group_bars: list[GroupBar]
    business_consents: ExportedConsents
    orders: list[OrderOut]
    """The caller's orders at businesses, with their payments (§15.5)."""
    linked_accounts: list[str] = msgspec.field(default_factory=list)
    """The caller's accounts linked with this one, this one among them (§16); empty when none."""
    shared_with: list[str] = msgspec.field(default_factory=list)
    """The businesses where the caller chose to be one customer with them (§16)."""
    pending_code: PendingCode | None
