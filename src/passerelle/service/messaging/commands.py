"""The messaging service's commands: what a use case is asked to do, in the service's own terms
(typed ids, no wire frame). The edge maps a wire frame to one (``server/commands.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId
from passerelle.service.business.sends import DeclaredSend

ReceiptKind = Literal["delivered", "read"]


class SendMessage(msgspec.Struct, frozen=True):
    """Store one message: an envelope per target device, into a direct conversation with ``to`` or
    into the existing conversation ``conv`` (exactly one of the two). In a group, ``body`` (a Megolm
    envelope) is stored once and fanned out to every member device but the sender's.

    A msgspec Struct, like the other records of the message path: one is built per message."""

    id: ClientMessageId
    """The client-chosen id (idempotency); checked by the service (``domain.ids``)."""
    payloads: dict[str, msgspec.Raw]
    to: AccountId | None = None
    conv: ConversationId | None = None
    ttl: int | None = None
    body: bytes | None = None
    biz: DeclaredSend | None = None
    """A business endpoint's declaration (docs/business.md section 5)."""


class SendReceipt(msgspec.Struct, frozen=True):
    """Tell ``to`` (another member of ``conv``) that these of its messages were delivered or read."""

    conv: ConversationId
    to: AccountId
    kind: ReceiptKind
    ids: Sequence[int]
