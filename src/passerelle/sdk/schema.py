"""The JSON shapes the SDK reads: REST answers (docs/protocol.md §4), mailbox item bodies (§5.2) and
the content inside encrypted envelopes (§6). msgspec validates types and ignores members it does not
know, as §7 asks of clients.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class Shape(msgspec.Struct, frozen=True):
    pass


# --- REST answers -------------------------------------------------------------------------------


class DeviceGrant(Shape, frozen=True):
    """Answer to registering or adding a device, and (without ids) to a token request."""

    token: str
    expires_at: int
    account_id: str = ""
    device_id: str = ""
    address: str | None = None


class Challenge(Shape, frozen=True):
    challenge: str
    expires_in: int = 60


class PublishedDevice(Shape, frozen=True):
    device_id: str
    name: str
    curve25519: str
    ed25519: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in self.__struct_fields__}


class ClaimedOneTimeKey(Shape, frozen=True):
    key_id: str
    key: str
    signature: str
    fallback: bool = False


class ClaimedDevice(PublishedDevice, frozen=True):
    one_time_key: ClaimedOneTimeKey | None = None


class Claim(Shape, frozen=True):
    account_id: str
    devices: list[ClaimedDevice]


class DeviceList(Shape, frozen=True):
    account_id: str
    devices: list[PublishedDevice]


class AccountSettings(Shape, frozen=True):
    findability: str
    read_receipts: bool


class Me(Shape, frozen=True):
    account_id: str
    app: str
    address: str
    display_name: str
    device_id: str
    settings: AccountSettings
    devices: list[PublishedDevice]


class Found(Shape, frozen=True):
    """A person, as a lookup by address and a profile by account id both show them (§4.8)."""

    account_id: str
    app: str
    display_name: str
    address: str | None = None
    features: list[str] | None = None
    """The content features of the person's app (§11); None from a server that does not say."""


class AppInfo(Shape, frozen=True):
    name: str
    features: list[str] = msgspec.field(default_factory=list)


class Apps(Shape, frozen=True):
    """``GET /v1/apps`` (§4.1)."""

    apps: list[AppInfo]


class ConversationInfo(Shape, frozen=True):
    conv: str
    kind: str
    members: list[str]
    timer: int = 0


class Conversations(Shape, frozen=True):
    conversations: list[ConversationInfo]


class KeyCount(Shape, frozen=True):
    otk_count: int


class CodeSent(Shape, frozen=True):
    expires_in: int


class ErrorDetail(Shape, frozen=True):
    code: str
    message: str = ""
    missing: list[str] | None = None
    extra: list[str] | None = None
    retry_after: float | None = None


class ErrorBody(Shape, frozen=True):
    error: ErrorDetail
    retry_after: float | None = None


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


class ResendContent(Shape, frozen=True):
    """``p.resend``: encrypt these messages again on a fresh session. ``ids`` are client ids; ``mids``
    (server message ids, for when the client ids are unreadable) and ``device`` (the device that sent
    them) are SDK additions."""

    ids: list[str] = msgspec.field(default_factory=list)
    mids: list[int] = msgspec.field(default_factory=list)
    device: str | None = None


def decode(data: bytes | str, kind: type[T]) -> T:
    """Decode JSON into ``kind``; raises msgspec.ValidationError / DecodeError (both MsgspecError)."""
    try:
        return msgspec.json.decode(data, type=kind)
    except RecursionError as exc:  # absurdly deep JSON from a peer or a server
        raise msgspec.DecodeError("JSON nested too deeply") from exc


def convert(obj: Any, kind: type[T]) -> T:
    """Validate an already-decoded object (the content of a decrypted envelope)."""
    return msgspec.convert(obj, kind)


def encode(obj: Any) -> bytes:
    return msgspec.json.encode(obj)
