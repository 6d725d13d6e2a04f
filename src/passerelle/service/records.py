"""The values that cross the store ports. Adapters return these, never driver rows.

The three records of the message path (OutgoingMessage, MailboxItem, AppendResult) are msgspec
Structs rather than dataclasses: they are built once per message or per delivery, and a Struct costs
a tenth of a frozen dataclass to construct (0.13 µs against 1.5 µs, measured), with the same
immutability and equality. They hold no reference cycles, so they stay out of the garbage collector.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import (
    AccountId,
    AppName,
    BlobId,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    MessageId,
    Timestamp,
)
from passerelle.domain.privacy import Findability


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRecord:
    id: AccountId
    app: AppName
    alias: str
    """The normalised phone number, handle or username; unique per app."""
    display_name: str
    password_hash: str | None
    findability: Findability | None
    """None: the app's default."""
    read_receipts: bool
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRecord:
    id: DeviceId
    account: AccountId
    name: str
    curve25519: str
    ed25519: str
    signature: str
    """The device's Ed25519 signature over its canonical device-keys object (see docs/protocol.md)."""
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class OneTimeKey:
    key_id: str
    key: str
    signature: str
    fallback: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedDevice:
    device: DeviceRecord
    one_time_key: OneTimeKey | None
    """A one-time key (each handed out exactly once), else the fallback key, else None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    device: DeviceId
    account: AccountId
    expires_at: Timestamp


@dataclass(frozen=True, slots=True)
class Sender:
    """An authenticated device acting for its account: who sends, reads or manages."""

    account: AccountRecord
    device: DeviceId


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller(TokenRecord):
    """Who a REST request or a WebSocket ``hello`` comes from: a live token's device and account
    (``AccountService.caller``, the one authentication path). Usable wherever a TokenRecord is."""

    record: AccountRecord
    """The account itself (``account`` is its id)."""
    token_hash: str
    """The SHA-256 of the token (to look it up again later; never the token)."""

    @property
    def sender(self) -> Sender:
        return Sender(self.record, self.device)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeRecord:
    app: AppName
    phone: str
    code_hash: str
    expires_at: Timestamp
    attempts_left: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationRecord:
    id: ConversationId
    kind: ConversationKind
    members: tuple[AccountId, ...]
    timer_s: int
    created_at: Timestamp


class OutgoingMessage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One message to store: a payload per target device, all in one transaction.

    ``kind`` is "msg" for a message from a person; "receipt", "timer", "device" and "member" for
    notices. Notices carry ``client_id=None`` and are never deduplicated.

    A group message also has a ``shared_body``: stored once (in ``bodies``) and referenced from the
    mailbox of every device in ``shared_to``, after that device's own payload if it has one.
    """

    kind: str
    conv: ConversationId
    sender: AccountId
    sender_device: DeviceId
    client_id: ClientMessageId | None
    ts: Timestamp
    expires_at: Timestamp
    payloads: tuple[tuple[DeviceId, bytes], ...]
    shared_body: bytes | None = None
    shared_to: tuple[DeviceId, ...] = ()


class MailboxItem(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    device: DeviceId
    pos: MailboxPos
    kind: str
    conv: ConversationId
    sender: AccountId
    sender_device: DeviceId
    ts: Timestamp
    expires_at: Timestamp
    body: bytes
    message_id: MessageId | None


class SharedItems(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The group items of one message, compactly: the same fields and body for every device, so one
    record with the (device, position) pairs instead of a MailboxItem per member device.

    ``devices[i]`` got position ``positions[i]``; a device that no longer exists is left out.
    """

    kind: str
    conv: ConversationId
    sender: AccountId
    sender_device: DeviceId
    ts: Timestamp
    expires_at: Timestamp
    body: bytes
    message_id: MessageId
    devices: Sequence[DeviceId]
    positions: Sequence[int]

    def expand(self) -> tuple[MailboxItem, ...]:
        """One MailboxItem per device (for readers that want the uniform view; not the hot path)."""
        return tuple(
            MailboxItem(
                device=device,
                pos=MailboxPos(pos),
                kind=self.kind,
                conv=self.conv,
                sender=self.sender,
                sender_device=self.sender_device,
                ts=self.ts,
                expires_at=self.expires_at,
                body=self.body,
                message_id=self.message_id,
            )
            for device, pos in zip(self.devices, self.positions, strict=True)
        )


class AppendResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the store did with one OutgoingMessage.

    For a repeated (sender_device, client_id) the first message's id, ts and expiry come back with
    ``duplicate=True`` and no new mailbox items. Otherwise ``items`` are the new mailbox entries of
    the message's own payloads, one per target device, with their positions, and ``shared`` (a
    group message's body) the entries of every device in ``shared_to``; for a device in both, its
    payload's position comes first.
    """

    message_id: MessageId
    ts: Timestamp
    expires_at: Timestamp
    duplicate: bool
    items: tuple[MailboxItem, ...]
    shared: SharedItems | None = None

    def all_items(self) -> tuple[MailboxItem, ...]:
        """``items`` followed by the expanded ``shared`` entries."""
        if self.shared is None:
            return self.items
        return self.items + self.shared.expand()


class BlobAdmission(enum.Enum):
    """What the store made of a new upload (``MediaStore.create_blob``)."""

    ADMITTED = "admitted"
    TOO_MANY_PENDING = "too_many_pending"
    """The uploader already has the most unfinished uploads allowed; nothing was stored."""
    OVER_QUOTA = "over_quota"
    """It would take the uploader past its media quota (bytes or blobs); nothing was stored."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaUsage:
    """What an account holds in media: the declared sizes of its blobs and unfinished uploads
    together, and their number (what its quota bounds)."""

    bytes: int = 0
    blobs: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobRecord:
    """An encrypted media blob (docs/protocol.md §8): what the server knows of it, never its content.

    While ``complete`` is False it is an upload in progress: ``received`` bytes are stored and
    ``expires_at`` is when the unfinished upload is abandoned. Once finished it can be downloaded by
    the members of ``conv`` until ``expires_at`` (the retention of a message sent then).
    """

    id: BlobId
    uploader: AccountId
    conv: ConversationId
    size: int
    """The declared size of the ciphertext, in bytes."""
    received: int
    complete: bool
    ttl_s: int | None
    """The lifetime the uploader asked for (a message's own ttl), or None."""
    created_at: Timestamp
    expires_at: Timestamp
