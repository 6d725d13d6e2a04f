"""``MemoryDatabase``: the tables of the in-memory store, as plain dicts, and what they enforce.

Rules:
- One ``MemoryDatabase`` is one database: it outlives the stores opened on it (as a file outlives
  a connection), so a store closed and another made on the same object see the same rows.
- A dict keyed by a table's primary key stands for that table; rows that change in place are small
  mutable classes, everything else is a frozen record of ``service.records``.
- The foreign keys of the SQL schema become checks (``need_account``, ``need_device``,
  ``need_conversation``) that raise ``NotFound``, as the SQL engines do; their ``ON DELETE
  CASCADE`` becomes ``drop_device``, ``drop_conversation`` and ``drop_account``.
- A write checks everything first and changes rows only once nothing can fail any more, so a
  transaction that raises leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.errors import NotFound
from passerelle.domain.ids import (
    AccountId,
    AppName,
    BlobId,
    ConversationId,
    DeviceId,
    MailboxPos,
    MessageId,
    Timestamp,
)
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom
from passerelle.service.groups.records import InviteRecord, Role
from passerelle.service.privacy.records import ReportRecord
from passerelle.service.records import AccountRecord, BlobRecord, CodeRecord, DeviceRecord, MailboxItem
from passerelle.service.stories.records import StoryId, StoryRecord
from passerelle.storage.memory.business_tables import BusinessTables
from passerelle.storage.memory.commerce_tables import CommerceTables
from passerelle.storage.memory.endpoint_tables import EndpointTables


class IntegrityError(Exception):
    """A write broke a constraint of the schema (a primary key taken, a missing value): a bug in
    the caller, as an ``IntegrityError`` of a SQL driver is."""


@dataclass(slots=True)
class KeyRow:
    key_id: str
    key: str
    signature: str


@dataclass(slots=True)
class ExpiringRow:
    """A token or a challenge: the device it belongs to and when it expires."""

    device: DeviceId
    expires_at: Timestamp


@dataclass(slots=True)
class ConversationRow:
    kind: ConversationKind
    timer_s: int
    created_at: Timestamp
    members: dict[AccountId, Role] = field(default_factory=dict)
    """The ``members`` table of this conversation (role ``member`` for a direct one)."""


@dataclass(slots=True)
class StateRow:
    state: MemberState
    since: Timestamp


@dataclass(slots=True)
class PrivacyRow:
    message_from: MessageFrom = MessageFrom.EVERYONE
    last_seen: LastSeenVisibility = LastSeenVisibility.CONTACTS
    last_seen_at: Timestamp | None = None


@dataclass(frozen=True, slots=True)
class SentRow:
    """The memory of a client message id (the ``messages`` table)."""

    message_id: MessageId
    ts: Timestamp
    expires_at: Timestamp


@dataclass(frozen=True, slots=True)
class BodyRow:
    """A group message's body, stored once and referenced from every member device's item."""

    expires_at: Timestamp
    body: bytes


@dataclass(frozen=True, slots=True)
class MailboxRow:
    """A mailbox item; a group item has ``body_id`` and an empty ``item.body`` (the body is in
    ``bodies``)."""

    item: MailboxItem
    body_id: MessageId | None = None


@dataclass(slots=True)
class UsageRow:
    bytes: int = 0
    blobs: int = 0


@dataclass(slots=True)
class MemoryDatabase:
    """Every table of the store. Made empty; shared by the ``MemoryStore`` objects given it."""

    accounts: dict[AccountId, AccountRecord] = field(default_factory=dict)
    aliases: dict[tuple[AppName, str], AccountId] = field(default_factory=dict)
    devices: dict[DeviceId, DeviceRecord] = field(default_factory=dict)
    devices_of: dict[AccountId, dict[DeviceId, None]] = field(default_factory=dict)
    """An index of ``devices`` by account."""
    tokens: dict[str, ExpiringRow] = field(default_factory=dict)
    challenges: dict[str, ExpiringRow] = field(default_factory=dict)
    codes: dict[tuple[AppName, str], CodeRecord] = field(default_factory=dict)
    one_time_keys: dict[DeviceId, dict[str, KeyRow]] = field(default_factory=dict)
    fallback_keys: dict[DeviceId, KeyRow] = field(default_factory=dict)
    conversations: dict[ConversationId, ConversationRow] = field(default_factory=dict)
    member_states: dict[tuple[ConversationId, AccountId], StateRow] = field(default_factory=dict)
    contacts: dict[tuple[AccountId, AccountId], Timestamp] = field(default_factory=dict)
    """(owner, contact) -> since."""
    blocks: dict[tuple[AccountId, AccountId], Timestamp] = field(default_factory=dict)
    """(blocker, blocked) -> since."""
    privacy: dict[AccountId, PrivacyRow] = field(default_factory=dict)
    reports: dict[str, ReportRecord] = field(default_factory=dict)
    group_invites: dict[str, InviteRecord] = field(default_factory=dict)
    group_bars: dict[tuple[ConversationId, AccountId], Timestamp] = field(default_factory=dict)
    messages: dict[tuple[DeviceId, str], SentRow] = field(default_factory=dict)
    mailbox: dict[DeviceId, dict[MailboxPos, MailboxRow]] = field(default_factory=dict)
    """Each device's items in position order (positions are handed out in increasing order)."""
    bodies: dict[MessageId, BodyRow] = field(default_factory=dict)
    next_message_id: int = 1
    next_pos: int = 1
    blobs: dict[BlobId, BlobRecord] = field(default_factory=dict)
    media_usage: dict[AccountId, UsageRow] = field(default_factory=dict)
    stories: dict[StoryId, StoryRecord] = field(default_factory=dict)
    story_audience: dict[StoryId, dict[AccountId, None]] = field(default_factory=dict)
    story_settings: dict[AccountId, bool] = field(default_factory=dict)
    business: BusinessTables = field(default_factory=BusinessTables)
    """Business messaging's tables (``business_tables``)."""
    endpoints: EndpointTables = field(default_factory=EndpointTables)
    """Business endpoints and enrolment tokens (``endpoint_tables``)."""
    commerce: CommerceTables = field(default_factory=CommerceTables)
    """Catalogs, products, orders and payments (``memory.commerce``)."""

    # -- foreign keys -----------------------------------------------------------------------------

    def need_account(self, *accounts: AccountId) -> None:
        for account in accounts:
            if account not in self.accounts:
                raise NotFound("the account no longer exists")

    def need_device(self, device: DeviceId) -> None:
        if device not in self.devices:
            raise NotFound("the device no longer exists")

    def need_conversation(self, conv: ConversationId) -> ConversationRow:
        row = self.conversations.get(conv)
        if row is None:
            raise NotFound("the conversation no longer exists")
        return row

    # -- cascades ---------------------------------------------------------------------------------

    def drop_device(self, device: DeviceId) -> bool:
        """Delete a device with its tokens, challenges and keys (not its mailbox)."""
        record = self.devices.pop(device, None)
        if record is None:
            return False
        owned = self.devices_of.get(record.account)
        if owned is not None:
            owned.pop(device, None)
            if not owned:
                del self.devices_of[record.account]
        for table in (self.tokens, self.challenges):
            for key in [k for k, row in table.items() if row.device == device]:
                del table[key]
        self.one_time_keys.pop(device, None)
        self.fallback_keys.pop(device, None)
        return True

    def drop_conversation(self, conv: ConversationId) -> bool:
        """Delete a conversation with its members, member states, invite links and bars."""
        if self.conversations.pop(conv, None) is None:
            return False
        for key in [k for k in self.member_states if k[0] == conv]:
            del self.member_states[key]
        for invite in [i for i, found in self.group_invites.items() if found.conv == conv]:
            del self.group_invites[invite]
        for bar in [k for k in self.group_bars if k[0] == conv]:
            del self.group_bars[bar]
        return True

    def drop_account(self, account: AccountId) -> bool:
        """Delete an account and every row with a foreign key to it: devices (and theirs),
        memberships, contacts and blocks both ways, member states, settings, invite links it
        made, its group bars, and its orders and their payments."""
        record = self.accounts.pop(account, None)
        if record is None:
            return False
        self.aliases.pop((record.app, record.alias), None)
        for device in list(self.devices_of.get(account, ())):
            self.drop_device(device)
        for row in self.conversations.values():
            row.members.pop(account, None)
        for pairs in (self.contacts, self.blocks):
            for pair in [p for p in pairs if account in p]:
                del pairs[pair]
        for key in [k for k in self.member_states if k[1] == account]:
            del self.member_states[key]
        self.privacy.pop(account, None)
        for invite in [i for i, found in self.group_invites.items() if found.created_by == account]:
            del self.group_invites[invite]
        for bar in [k for k in self.group_bars if k[1] == account]:
            del self.group_bars[bar]
        self.commerce.drop_orders_of(account)
        return True

    def device_ids(self, account: AccountId) -> list[DeviceId]:
        """The account's devices in the order of ``list_devices`` (created_at, then id)."""
        owned = self.devices_of.get(account, ())
        return sorted(owned, key=lambda d: (self.devices[d].created_at, d))
