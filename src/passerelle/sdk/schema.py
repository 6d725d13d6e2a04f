"""The JSON shapes the SDK reads: REST answers (docs/protocol.md §4, declared once in
``passerelle.proto.rest`` and re-exported here), mailbox item bodies (§5.2) and the content inside
encrypted envelopes (§6). msgspec validates types and ignores members it does not know, as §7 asks
of clients.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from passerelle.proto.rest.accounts import (
    AccountSettings,
    AppInfo,
    Apps,
    Challenge,
    CodeSent,
    DeviceGrant,
    Me,
    PublishedDevice,
)
from passerelle.proto.rest.base import decode, encode
from passerelle.proto.rest.conversations import ConversationInfo, Conversations
from passerelle.proto.rest.directory import Found
from passerelle.proto.rest.errors import ErrorBody, ErrorDetail
from passerelle.proto.rest.keys import Claim, ClaimedDevice, ClaimedOneTimeKey, DeviceList, KeyCount

__all__ = [
    "AccountSettings",
    "AppInfo",
    "Apps",
    "Challenge",
    "Claim",
    "ClaimedDevice",
    "ClaimedOneTimeKey",
    "CodeSent",
    "ConversationInfo",
    "Conversations",
    "DeviceGrant",
    "DeviceList",
    "ErrorBody",
    "ErrorDetail",
    "Found",
    "KeyCount",
    "Me",
    "PublishedDevice",
    "convert",
    "decode",
    "encode",
]

T = TypeVar("T")


class Shape(msgspec.Struct, frozen=True):
    pass


# --- mailbox item bodies ------------------------------------------------------------------------


class ReceiptBody(Shape, frozen=True):
    kind: str
    ids: list[int]


class TimerBody(Shape, frozen=True):
    timer: int


class DeviceNotice(Shape, frozen=True):
    event: str
    device_id: str


# --- encrypted content --------------------------------------------------------------------------


class Thumbnail(Shape, frozen=True):
    """A preview of an image or video: a second blob, encrypted under its own key (§8.4)."""

    blob: str
    mime: str
    size: int
    key: str
    nonce: str
    sha256: str
    width: int | None = None
    height: int | None = None


class Attachment(Shape, frozen=True):
    """An encrypted file a message refers to (§8.4). ``key``, ``nonce`` and ``sha256`` are unpadded
    base64; ``size`` is the plaintext's bytes. Everything here is inside the end-to-end encryption."""

    kind: str
    """"file", "image", "video" or "voice" (the content's msgtype)."""
    blob: str
    mime: str
    size: int
    key: str
    nonce: str
    sha256: str
    name: str = ""
    alg: str = "passerelle.aes-256-gcm.v1"
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    """Voice notes and video."""
    waveform: list[int] | None = None
    """Voice notes: loudness samples, each 0 to 255."""
    thumbnail: Thumbnail | None = None


class ReplyRef(Shape, frozen=True):
    """``in_reply_to`` (§11): the content ``id`` of the message a reply or a reaction is about, its
    sender's account, and a short quote of it (for display, and for the plain-text fallback)."""

    id: str
    sender: str
    quote: str = ""


class Mention(Shape, frozen=True):
    """A person named in ``body`` (§11): ``length`` characters (code points) from ``offset``."""

    account: str
    offset: int
    length: int


class Theme(Shape, frozen=True):
    """A conversation's look (§11): a colour ``#rrggbb`` and the emoji of its quick reaction."""

    colour: str
    quick_reaction: str | None = None


class TextContent(Shape, frozen=True):
    """``p.msg`` content, after MIMI. ``ttl`` (seconds) and ``resend`` (how many times the sender
    re-encrypted it) are SDK additions that other clients may ignore. With an ``attachment`` the
    msgtype is its kind and ``body`` is the caption or a plain-text stand-in for the file."""

    id: str
    ts: int
    body: str
    msgtype: str = "text"
    ttl: int | None = None
    resend: int | None = None
    attachment: Attachment | None = None
    in_reply_to: ReplyRef | None = None
    """A reply (msgtype text or a file) or a reaction (msgtype ``reaction``): what it is about."""
    replaces: str | None = None
    """msgtype ``edit`` / ``delete``: the content id of the sender's own message it changes."""
    mentions: list[Mention] | None = None
    theme: Theme | None = None
    """msgtype ``theme``."""
    fallback: str | None = None
    """A readable plain-text stand-in, for apps that cannot show this content (§11)."""
    cloud: dict[str, Any] | None = None
    """A business message (docs/business.md section 6): the Cloud API object it carries, ``{"type":
    <kind>, <kind>: {...}}`` (``interactive``, ``location``, ``contacts``, ``template``), as the bot
    sent it or, from a person, an interactive reply (``button_reply``, ``list_reply``); ``body`` is
    then its plain-text rendering for apps that show only text."""


class ResendContent(Shape, frozen=True):
    """``p.resend``: encrypt these messages again on a fresh session. ``ids`` are client ids; ``mids``
    (server message ids, for when the client ids are unreadable) and ``device`` (the device that sent
    them) are SDK additions."""

    ids: list[str] = msgspec.field(default_factory=list)
    mids: list[int] = msgspec.field(default_factory=list)
    device: str | None = None


def convert(obj: Any, kind: type[T]) -> T:
    """Validate an already-decoded object (the content of a decrypted envelope)."""
    return msgspec.convert(obj, kind)
