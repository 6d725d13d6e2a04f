"""The ports: what the use cases need from the world, as Protocols. Adapters live in
``passerelle.storage`` and ``passerelle.broker``; ``passerelle.server.app`` picks them.

Store contract (checked by tests/contract on every adapter):
- Each method is one transaction; it commits before it returns.
- Mailbox positions of one device only grow, and a device's rows commit in position order, so a
  reader that has seen position P never later finds a new row below P.
- ``append`` stores all its messages durably or raises; a repeated (sender_device, client_id)
  returns the first message's result, whatever the repeat carried.
- ``claim_keys`` hands each one-time key out exactly once, even under concurrent claims.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import (
    AccountId,
    AppName,
    BlobId,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    Timestamp,
)
from passerelle.domain.privacy import Findability
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.group_records import GroupDevices, InviteRecord, Role
from passerelle.service.privacy_records import (
    AccountExport,
    ErasedAccount,
    PrivacySettings,
    Relation,
    ReportRecord,
    RequestRecord,
)
from passerelle.service.records import (
    AccountRecord,
    AppendResult,
    BlobAdmission,
    BlobRecord,
    ClaimedDevice,
    CodeRecord,
    ConversationRecord,
    DeviceRecord,
    MailboxItem,
    MediaUsage,
    OneTimeKey,
    OutgoingMessage,
    TokenRecord,
)
from passerelle.service.story_records import StoryId, StoryRecord


class Clock(Protocol):
    def now_ms(self) -> Timestamp: ...

    def monotonic(self) -> float: ...


class IdGenerator(Protocol):
    def account_id(self) -> AccountId: ...

    def device_id(self) -> DeviceId: ...

    def token(self) -> str:
        """A fresh secret (bearer token or challenge), URL-safe, at least 256 bits."""
        ...

    def code(self, digits: int) -> str:
        """A fresh numeric one-time code."""
        ...


class CodeSender(Protocol):
    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        """Deliver a one-time code to a phone. Raises Unavailable when the gateway fails."""
        ...


class AccountStore(Protocol):
    async def create_account(
        self, account: AccountRecord, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None:
        """Raises AliasTaken when (app, alias) exists."""
        ...

    async def get_account(self, account: AccountId) -> AccountRecord | None: ...

    async def find_account(self, app: AppName, alias: str) -> AccountRecord | None: ...

    async def update_settings(
        self, account: AccountId, *, findability: Findability | None, read_receipts: bool
    ) -> None: ...


class DeviceStore(Protocol):
    async def add_device(
        self, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None: ...

    async def get_device(self, device: DeviceId) -> DeviceRecord | None: ...

    async def list_devices(self, account: AccountId) -> list[DeviceRecord]: ...

    async def list_devices_of(self, accounts: Sequence[AccountId]) -> dict[AccountId, list[DeviceId]]:
        """Device ids per account, for the send path (accounts without devices map to [])."""
        ...

    async def remove_device(self, device: DeviceId) -> bool:
        """Delete the device with its keys, tokens, challenges and mailbox. False if it did not exist."""
        ...


class TokenStore(Protocol):
    async def put_token(self, token_hash: str, *, device: DeviceId, expires_at: Timestamp) -> None: ...

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        """The live token's owner, or None when unknown, expired or its device was removed."""
        ...

    async def put_challenge(self, challenge: str, *, device: DeviceId, expires_at: Timestamp) -> None: ...

    async def take_challenge(self, challenge: str, *, device: DeviceId, now: Timestamp) -> bool:
        """Consume a challenge: True once if it was issued to that device and is not expired."""
        ...


class CodeStore(Protocol):
    async def put_code(self, record: CodeRecord) -> None:
        """Replace any pending code for (app, phone)."""
        ...

    async def get_code(self, app: AppName, phone: str) -> CodeRecord | None: ...

    async def spend_attempt(self, app: AppName, phone: str) -> int:
        """Decrement the attempts left and return what remains (-1 when there is no code)."""
        ...

    async def delete_code(self, app: AppName, phone: str) -> None: ...


class KeyStore(Protocol):
    async def add_one_time_keys(self, device: DeviceId, keys: Sequence[OneTimeKey]) -> int:
        """Store new one-time keys (ids already present are ignored); return the stock afterwards."""
        ...

    async def set_fallback_key(self, device: DeviceId, key: OneTimeKey) -> None: ...

    async def count_one_time_keys(self, device: DeviceId) -> int: ...

    async def claim_keys(
        self,
        account: AccountId,
        *,
        only: Sequence[DeviceId] | None = None,
        exclude: DeviceId | None = None,
    ) -> list[ClaimedDevice]:
        """List every device of the account; for each device in ``only`` (all when None) except
        ``exclude``, take one one-time key (deleted as it is handed out), or return the fallback key
        when none is left. The other devices come back with no key."""
        ...


class ConversationStore(Protocol):
    async def ensure_direct(
        self, conv: ConversationId, a: AccountId, b: AccountId, *, now: Timestamp
    ) -> ConversationRecord: ...

    async def get_conversation(self, conv: ConversationId) -> ConversationRecord | None: ...

    async def list_conversations(self, account: AccountId) -> list[ConversationRecord]: ...

    async def set_timer(self, conv: ConversationId, timer_s: int) -> None: ...

    async def shares_conversation(self, a: AccountId, b: AccountId) -> bool: ...


class Mailbox(Protocol):
    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        """Store a batch in one transaction; results are in the batch's order. ``acks`` (as for
        ``ack``) are applied in the same transaction, saving a commit per round on the hot path."""
        ...

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        """Items of the device with a position above ``after``, oldest first, unexpired only."""
        ...

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        """Delete every item of each device up to its position; return how many were deleted."""
        ...

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        """Delete these items of the device, and only these (items that cannot be delivered); return
        how many were deleted."""
        ...

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId
    ) -> int:
        """The most messages (kind ``msg``) from ``sender`` in ``conv`` that any one of ``devices``
        has not acknowledged yet (the bound on a message request, docs/protocol.md section 9.2)."""
        ...

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        """Whether a message with this client id from this device is remembered (within the
        idempotency window): a repeated send then returns its first result, whatever bounds say."""
        ...

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        """The janitor: delete mailbox items past their expiry, and message records (the memory of
        client ids) older than ``idempotency_before`` with no item left."""
        ...


class MediaStore(Protocol):
    """Metadata of encrypted media blobs and their uploads (the bytes are in a BlobStore)."""

    async def create_blob(self, record: BlobRecord, *, max_pending: int, quota: MediaQuota) -> BlobAdmission:
        """Insert an upload, unless its uploader already has ``max_pending`` unfinished ones, or its
        declared size and count would take the uploader's usage past ``quota``. The check and the
        insert are one transaction, atomic against concurrent uploads of the same account."""
        ...

    async def media_usage(self, account: AccountId) -> MediaUsage:
        """What the account holds now: its blobs' declared sizes and their number (every blob
        counts until ``delete_blobs`` deletes its record)."""
        ...

    async def get_blob(self, blob: BlobId) -> BlobRecord | None: ...

    async def advance_upload(self, blob: BlobId, *, expected: int, received: int) -> bool:
        """Move an unfinished upload's offset from ``expected`` to ``received``; False when it was not
        at ``expected`` (or is finished or gone)."""
        ...

    async def finish_upload(self, blob: BlobId, *, expires_at: Timestamp) -> bool:
        """Mark a fully received upload complete with its final expiry; False otherwise."""
        ...

    async def expired_blobs(self, *, now: Timestamp, limit: int) -> list[BlobId]:
        """Blobs and unfinished uploads whose expiry is at or before ``now`` (at most ``limit``)."""
        ...

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        """Every blob the account uploaded (for export and erasure)."""
        ...

    async def delete_blobs(self, blobs: Sequence[BlobId]) -> int:
        """Delete the records and give their sizes back to their uploaders' usage; returns how
        many existed."""
        ...


class PrivacyStore(Protocol):
    """Contacts, blocks, message requests, privacy settings, reports, export and erasure
    (storage.sql.privacy and storage.sql.erase; docs/protocol.md section 9)."""

    async def pair_facts(self, a: AccountId, b: AccountId) -> PairFacts:
        """Blocks and contacts between two people, their direct conversation's member states and
        their ``message_from`` settings, read at once."""
        ...

    async def decide_state(
        self, conv: ConversationId, account: AccountId, state: MemberState, *, now: Timestamp
    ) -> MemberState:
        """Record a member's state unless one is recorded already; return the recorded one."""
        ...

    async def accept_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, now: Timestamp
    ) -> None:
        """The member accepts: state ``accepted`` and ``other`` becomes one of their contacts."""
        ...

    async def decline_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, block: bool, now: Timestamp
    ) -> int:
        """State ``declined`` (and a block when asked); the member's undelivered items from ``other``
        in that conversation are deleted. Returns how many were."""
        ...

    async def list_requests(self, account: AccountId, state: MemberState) -> list[RequestRecord]: ...

    async def add_contact(self, owner: AccountId, contact: AccountId, *, now: Timestamp) -> None: ...

    async def remove_contact(self, owner: AccountId, contact: AccountId) -> bool: ...

    async def list_contacts(self, owner: AccountId) -> list[Relation]: ...

    async def block(self, blocker: AccountId, blocked: AccountId, *, now: Timestamp) -> None: ...

    async def unblock(self, blocker: AccountId, blocked: AccountId) -> bool: ...

    async def list_blocks(self, blocker: AccountId) -> list[Relation]: ...

    async def get_privacy(self, account: AccountId) -> PrivacySettings: ...

    async def set_privacy(
        self, account: AccountId, *, message_from: MessageFrom, last_seen: LastSeenVisibility
    ) -> None: ...

    async def record_last_seen(self, seen: Sequence[tuple[AccountId, Timestamp]]) -> None: ...

    async def add_report(self, report: ReportRecord) -> None: ...

    async def list_reports(self, *, limit: int, before: Timestamp | None = None) -> list[ReportRecord]:
        """Newest first."""
        ...

    async def export_account(self, account: AccountId) -> AccountExport | None: ...

    async def erase_account(self, account: AccountId) -> ErasedAccount | None:
        """Delete the account and every row that names it or its devices, in one transaction."""
        ...


class GroupStore(Protocol):
    """Groups: members with roles, invite links and the fan-out list (docs/protocol.md section 10)."""

    async def create_group(
        self, conv: ConversationId, creator: AccountId, members: Sequence[AccountId], *, now: Timestamp
    ) -> ConversationRecord:
        """A new group conversation; ``creator`` is its admin, the others plain members."""
        ...

    async def group_roles(self, conv: ConversationId) -> dict[AccountId, Role]:
        """Members and their roles; empty when ``conv`` is not a group."""
        ...

    async def add_members(self, conv: ConversationId, accounts: Sequence[AccountId]) -> list[AccountId]:
        """Add the accounts that are not members yet (an admin's act: it lifts their bar, see
        ``remove_member``); returns those."""
        ...

    async def remove_member(
        self, conv: ConversationId, account: AccountId, *, barred_at: Timestamp | None = None
    ) -> bool:
        """Remove a member; with ``barred_at`` (an admin's removal) the person is also barred from
        joining by invite link until ``add_members`` adds them again. False when not a member."""
        ...

    async def is_barred(self, conv: ConversationId, account: AccountId) -> bool:
        """True when an admin removed the account and nobody added it back since."""
        ...

    async def join_group(self, conv: ConversationId, account: AccountId) -> bool:
        """Add the account as a plain member (a join by invite link) unless it is barred, in one
        statement; True when it is a member afterwards."""
        ...

    async def set_role(self, conv: ConversationId, account: AccountId, role: Role) -> bool: ...

    async def group_devices(self, conv: ConversationId) -> GroupDevices:
        """Every member with its app and its devices, in one read (the fan-out of a group send)."""
        ...

    async def groups_of(self, account: AccountId) -> list[ConversationId]: ...

    async def create_invite(self, invite: InviteRecord) -> None: ...

    async def find_invite(self, token_hash: str) -> InviteRecord | None: ...

    async def list_invites(self, conv: ConversationId) -> list[InviteRecord]: ...

    async def delete_invite(self, conv: ConversationId, invite_id: str) -> bool: ...


class StoryStore(Protocol):
    """Stories (docs/protocol.md §12): metadata and audiences, never content."""

    async def create_story(self, story: StoryRecord, audience: Sequence[AccountId]) -> None: ...

    async def get_story(self, story: StoryId) -> StoryRecord | None: ...

    async def in_story_audience(self, story: StoryId, account: AccountId) -> bool:
        """True when ``account`` is in the story's audience (the author is not, unless listed)."""
        ...

    async def visible_stories(self, account: AccountId, *, now: Timestamp) -> list[StoryRecord]:
        """Unexpired stories the account authored or is in the audience of, oldest first."""
        ...

    async def expired_stories(self, *, now: Timestamp, limit: int) -> list[StoryId]: ...

    async def stories_by(self, author: AccountId) -> list[StoryId]: ...

    async def story_blobs(self, stories: Sequence[StoryId]) -> list[BlobId]:
        """The blobs uploaded into these stories (finished or not)."""
        ...

    async def delete_stories(self, stories: Sequence[StoryId]) -> int:
        """Delete the stories and their audiences (not their blobs); returns how many stories."""
        ...

    async def forget_story_person(self, account: AccountId) -> None:
        """Account erasure: drop the account from every audience, and its story setting."""
        ...

    async def story_cross_app(self, account: AccountId) -> bool: ...

    async def set_story_cross_app(self, account: AccountId, allowed: bool) -> None: ...


class Store(
    StoryStore,
    GroupStore,
    AccountStore,
    DeviceStore,
    TokenStore,
    CodeStore,
    KeyStore,
    ConversationStore,
    Mailbox,
    MediaStore,
    PrivacyStore,
    Protocol,
):
    """Everything the server keeps, behind one connection (pool) to one database."""

    async def open(self) -> None:
        """Connect and run pending migrations."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """For readiness: True when a trivial query succeeds."""
        ...


@dataclass(frozen=True, slots=True)
class DeviceNews:
    """A poke: these devices have new mailbox items. It carries no body: the database is the truth."""

    devices: tuple[DeviceId, ...]
    all_devices: bool = False
    """Resynchronise every connection of the node (after the broker lost events)."""


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """A frame for online devices only (typing, keys running low), dropped when nobody listens.
    ``close`` asks the node holding the device to close its connection after sending (device removed)."""

    devices: tuple[DeviceId, ...]
    frame: bytes
    close: bool = False


@dataclass(frozen=True, slots=True)
class Invalidate:
    """Cached facts about an account's devices or a conversation changed; nodes drop their copy."""

    accounts: tuple[AccountId, ...] = ()
    conversations: tuple[ConversationId, ...] = ()


BrokerEvent = DeviceNews | Ephemeral | Invalidate
BrokerHandler = Callable[[BrokerEvent], Awaitable[None]]


class Broker(Protocol):
    """Carries pokes between nodes. At most once: a node that missed some resyncs from the store."""

    @property
    def is_local(self) -> bool:
        """True when this process is the only node (the in-process broker)."""
        ...

    async def start(self, handler: BrokerHandler) -> None: ...

    async def publish(self, event: BrokerEvent) -> None: ...

    async def close(self) -> None: ...


class DeviceNotices(Protocol):
    """Tells an account's devices that its device list changed (implemented by the server's hub).

    Called after the change committed. ``device_added`` leaves a durable ``device`` notice in every
    other device's mailbox; ``device_removed`` does the same and closes the removed device's
    connection, wherever it is.
    """

    async def device_added(self, account: AccountId, device: DeviceId) -> None: ...

    async def device_removed(self, account: AccountId, device: DeviceId) -> None: ...


class ServerSecret(Protocol):
    """A secret of the server's kept outside the database (a key file, or the operator's setting):
    one-time codes are stored as a MAC under it, so the database alone does not reveal them."""

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under the secret, in hex."""
        ...


class BlobStore(Protocol):
    """Where the bytes of encrypted media live (local files by default). Blob ids are validated by
    the service before they reach here; an adapter still refuses any id that is not ``b_`` + URL-safe
    characters. Every method is safe to call from the event loop (I/O runs elsewhere)."""

    async def write(self, blob: BlobId, *, offset: int, data: bytes) -> None:
        """Durably write ``data`` at ``offset``, dropping whatever the blob held from ``offset`` on
        (so a chunk sent again after a failure replaces a partial earlier attempt)."""
        ...

    async def read(self, blob: BlobId, *, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``. Raises NotFound when the blob is absent."""
        ...

    async def size(self, blob: BlobId) -> int | None:
        """The bytes stored, or None when the blob is absent."""
        ...

    async def delete(self, blobs: Sequence[BlobId]) -> int:
        """Delete the blobs that exist; returns how many were deleted."""
        ...


class RateLimits(Protocol):
    """Token buckets keyed by (rule, key), in one table per rule, each table bounded on its own.

    A rule's table never loses a bucket that is in force: only a bucket that has refilled (which is
    the same as no bucket) may be forgotten to make room. When a rule's table is full of buckets in
    force, a new key of that rule is refused (fail safe) until one refills; other rules are unaffected.
    With several nodes the adapter must share the buckets (Redis), so a limit holds across nodes.
    """

    async def take(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of the (rule, key) bucket, created full when new.

        A ``cost`` of 0 spends nothing and creates nothing: it asks whether one token is there.
        Returns 0 when allowed, else the seconds to wait before a retry (nothing was spent).
        Raises Unavailable when shared state cannot be reached.
        """
        ...

    async def close(self) -> None: ...
