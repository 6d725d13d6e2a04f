"""Every WebSocket frame of protocol version 1, as msgspec Structs. docs/protocol.md is normative.

A frame is one JSON object in one WebSocket message; its ``t`` member names its type. Frames are
named from the receiver's point of view. Envelopes (the end-to-end encrypted payloads) travel as
``msgspec.Raw``: the server never parses them, it stores and forwards their bytes.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ReceiptKind = Literal["delivered", "read"]
ItemKind = Literal["msg", "receipt", "timer", "device", "member"]


Short = Annotated[str, msgspec.Meta(max_length=128)]
"""A device id or a signature in a login (as in ``POST /v1/auth/token``)."""
ChallengeText = Annotated[str, msgspec.Meta(max_length=512)]
"""A login challenge (docs/protocol.md section 4.5: at most 512 characters)."""

NO_BODY = msgspec.Raw()
"""The absent ``body`` of a send (omitted when encoding only when it is this very object)."""


class Frame(msgspec.Struct, tag_field="t", frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    pass


# --- client to server -------------------------------------------------------------------------


class Hello(Frame, tag="hello", frozen=True):
    """First frame on a connection (after ``login`` and its ``challenge``, when the device logs in
    here): authenticates it with a device token, or with the device key, a login challenge and
    its signature (docs/protocol.md section 5.1), for which ``welcome`` brings a new token."""

    token: str = ""
    v: int = 1
    device: Short = ""
    challenge: ChallengeText = ""
    signature: Short = ""

    @property
    def signed(self) -> bool:
        """A login with the device key, not a token."""
        return not self.token


class Login(Frame, tag="login", frozen=True):
    """Before ``hello``: ask for a login challenge for ``device`` (answered with ``challenge``)."""

    device: Short
    v: int = 1


class BizMeta(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """What a business endpoint declares in the clear beside a send to a person (docs/business.md
    section 5): the business number (``phone_number_id``) it sends from, the Cloud API message kind,
    the ``wamid`` the bot was given, and for a template its name and language. The server judges
    the send on these alone; it never reads the envelope."""

    number: str
    kind: str
    wamid: str
    template: str | None = None
    lang: str | None = None


class DeliveredBiz(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the server delivers, beside the envelope, of a business's send to a person (the
    envelope's ``biz`` member, set by the server: docs/protocol.md section 15.4): the kind, ``wamid``
    and template the endpoint declared, and the template's category from the server's own record.
    The person's device checks the decrypted content against it and reports a mismatch."""

    kind: str
    wamid: str
    template: str | None = None
    lang: str | None = None
    category: str | None = None


class BizEnvelope(msgspec.Struct, frozen=True):
    """The one member of an envelope the server writes (the rest is the sender's)."""

    biz: DeliveredBiz | None = None


class Send(Frame, tag="send", frozen=True):
    """One message: an envelope per target device. Exactly one of ``to`` (a direct conversation with
    that account) and ``conv`` (an existing conversation) is given. In a group, ``body`` (a Megolm
    envelope) is stored once and fanned out by the server to every member device but the sender's;
    ``payloads`` then name only the devices that get an envelope of their own (room-key shares)."""

    id: str
    payloads: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)
    to: str | None = None
    conv: str | None = None
    ttl: int | None = None
    body: msgspec.Raw = NO_BODY
    """Empty when absent (a Raw cannot be optional); leave it out rather than pass an empty Raw."""
    biz: BizMeta | None = None
    """Required on every send of a business endpoint to a person; refused on anyone else's."""


class Ack(Frame, tag="ack", frozen=True):
    """Everything in this device's mailbox up to and including position ``upto`` was received."""

    upto: int


MAX_RECEIPT_IDS = 256
"""Message ids in one receipt frame (a client sends more in several frames)."""


class Receipt(Frame, tag="receipt", frozen=True):
    conv: str
    to: str
    kind: ReceiptKind
    ids: list[int]


class Typing(Frame, tag="typing", frozen=True):
    conv: str
    typing: bool = True


class Ping(Frame, tag="ping", frozen=True):
    n: int = 0


ClientFrame = Hello | Login | Send | Ack | Receipt | Typing | Ping


# --- server to client -------------------------------------------------------------------------


class Welcome(Frame, tag="welcome", frozen=True):
    account: str
    device: str
    otk_count: int
    time: int
    v: int = 1
    token: str | None = None
    """After a signed ``hello``: the device's new bearer token (for REST and later hellos)."""
    expires_at: int | None = None
    """When ``token`` expires (ms)."""
    address: str | None = None
    """After a signed ``hello``: the account's address (as ``POST /v1/auth/token`` gives it)."""


class ChallengeFrame(Frame, tag="challenge", frozen=True):
    """The answer to ``login``: a challenge for the device to sign (docs/protocol.md section 4.5)."""

    challenge: str
    expires_in: int


class Sent(Frame, tag="sent", frozen=True):
    """The message with client id ``id`` is durably stored for every target device."""

    id: str
    mid: int
    conv: str
    ts: int
    exp: int


class Item(msgspec.Struct, frozen=True, omit_defaults=True):
    """One entry of a device's mailbox."""

    pos: int
    kind: ItemKind
    conv: str
    sender: str = msgspec.field(name="from")
    dev: str
    ts: int
    exp: int
    body: msgspec.Raw
    mid: int | None = None


MAX_DELIVER_ITEMS = 256
"""Items in one ``deliver`` frame (which is also never larger than the frame limit, unless one item
alone is)."""


class Deliver(Frame, tag="deliver", frozen=True):
    items: list[Item]


class TypingNotice(Frame, tag="typing", frozen=True):
    conv: str
    typing: bool
    sender: str = msgspec.field(name="from")


class KeysLow(Frame, tag="keys_low", frozen=True):
    count: int


class Error(Frame, tag="error", frozen=True):
    code: str
    message: str
    ref: str | None = None
    missing: list[str] | None = None
    extra: list[str] | None = None
    retry_after: float | None = None
    failure: str | None = None
    """``cloud_api`` errors (a business endpoint's send refused by a business rule): the rule that
    failed (``domain.business.errors.Failure``, e.g. ``outside_window``), from which the endpoint
    answers its bot with the Cloud API's code."""
    details: str | None = None


class Pong(Frame, tag="pong", frozen=True):
    n: int = 0


ServerFrame = Welcome | ChallengeFrame | Sent | Deliver | TypingNotice | KeysLow | Error | Pong
