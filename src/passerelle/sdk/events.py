"""The values the SDK hands to applications: messages, receipts, typing, timers, devices, contacts.

All are frozen dataclasses; times are milliseconds since the epoch (UTC), durations seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from passerelle.domain.business.feedback import Described
from passerelle.domain.ids import AccountId, AppName, ClientMessageId, ConversationId, DeviceId, MessageId
from passerelle.sdk.schema import Attachment, Mention, ReplyRef, Theme


class MessageState(enum.StrEnum):
    PENDING = "pending"
    """Outgoing, not yet acknowledged by the server."""
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    RECEIVED = "received"
    """Incoming, stored here (and a delivery receipt sent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A text message in a conversation, incoming or outgoing (also from my other devices)."""

    conv: ConversationId
    id: MessageId | None
    """The server's message id (None while an outgoing message is pending)."""
    client_id: ClientMessageId
    sender: AccountId
    sender_device: DeviceId
    text: str
    ts: int
    expires_at: int | None
    """When this device deletes it (disappearing messages); None: kept."""
    outgoing: bool
    state: MessageState = MessageState.RECEIVED
    attachment: Attachment | None = None
    """A file, image, video or voice note (``client.media.download(message)`` fetches it); ``text``
    is then its caption or a plain-text stand-in."""
    reply_to: ReplyRef | None = None
    """A reply: the message it answers (its content id, sender and a quote) (§11)."""
    mentions: tuple[Mention, ...] = ()
    """People named in ``text`` (account, offset, length in characters)."""
    reactions: tuple[tuple[AccountId, str], ...] = ()
    """(person, emoji) for everyone who reacted, one reaction each, sorted by person."""
    edited: bool = False
    """The sender edited it: ``text`` is the newest version."""
    deleted: bool = False
    """The sender deleted it for everyone: ``text`` is the tombstone ``DELETED_TEXT``."""
    cloud: dict[str, Any] | None = None
    """A business message's Cloud API object (buttons, a list, a location, ...; ``TextContent.cloud``);
    ``text`` is its plain-text rendering."""


DELETED_TEXT = "message deleted"
"""What a message deleted for everyone shows in history (its content is gone from this device)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentMessage:
    conv: ConversationId
    id: MessageId
    client_id: ClientMessageId
    ts: int
    expires_at: int | None
    server_exp: int = 0
    """When the server forgets the message if no device of the recipient took it (the ``sent``
    frame's ``exp``, server time; 0 when not known)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptEvent:
    """``sender`` (another person, or my own account from another device) delivered or read ``ids``."""

    conv: ConversationId
    sender: AccountId
    kind: str
    ids: tuple[MessageId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingEvent:
    conv: ConversationId
    sender: AccountId
    typing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerEvent:
    """Someone (maybe me, from another device) set the conversation's disappearing timer."""

    conv: ConversationId
    sender: AccountId
    seconds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceEvent:
    """My account's device list changed."""

    event: str
    device_id: DeviceId


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    account_id: AccountId
    app: AppName
    display_name: str
    address: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    conv: ConversationId
    kind: str
    members: tuple[AccountId, ...]
    timer: int
    last_ts: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    device_id: DeviceId
    name: str
    curve25519: str
    ed25519: str
    current: bool
    """True for the device this client runs as."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    findability: str
    read_receipts: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupEvent:
    """A group changed: ``event`` is added, removed, left, joined, promoted, demoted,
    device_added, device_removed (from the server) or renamed, avatar (from a member, encrypted)."""

    conv: ConversationId
    event: str
    account: AccountId
    by: AccountId


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent:
    """A message arrived in a conversation that waits in my requests folder (someone who is not a
    contact, from another app): show it apart until ``client.privacy.accept``."""

    conv: ConversationId
    sender: AccountId
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemeEvent:
    """A member (maybe me, from another device) set the conversation's theme (§11)."""

    conv: ConversationId
    sender: AccountId
    theme: Theme
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessMismatchEvent:
    """A business's message whose decrypted content is not what its endpoint declared to the server
    (docs/business.md section 5): another kind, another template, another category. The SDK reports
    it to the server by itself (kinds and template names only, never the content); an app may warn
    the person. The message itself is shown as usual (``message_id`` is its content id)."""

    conv: ConversationId
    sender: AccountId
    """The business's account."""
    mid: int | None
    """The server's message id."""
    message_id: str
    """The content id (the ``wamid`` its bot was given)."""
    declared: Described
    observed: Described
    problem: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionEvent:
    """The live connection came up (the server's welcome) or was lost; while it is down the client
    reconnects by itself, with backoff, until it is closed."""

    connected: bool


Event = (
    Message
    | ReceiptEvent
    | TypingEvent
    | TimerEvent
    | DeviceEvent
    | GroupEvent
    | RequestEvent
    | ThemeEvent
    | ConnectionEvent
    | BusinessMismatchEvent
)
