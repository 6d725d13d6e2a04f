"""What an append gives back, built one way for the three mailbox adapters (``sqlite.mailbox``,
``postgres.mailbox``, ``memory.mailbox``): each decides ids and positions its own way, then hands
the message and what it stored to these functions. ``message_columns`` is what every mailbox row
of one message repeats, for the two SQL adapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MailboxPos, MessageId, Timestamp
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage, SharedItems

MessageColumns: TypeAlias = tuple[MessageId, str, ConversationId, AccountId, DeviceId, Timestamp, Timestamp]
"""message_id, kind, conv, sender, sender_device, ts, expires_at: in the mailbox table's order."""


def message_columns(m: OutgoingMessage, message_id: MessageId) -> MessageColumns:
    """The columns every mailbox row of ``m`` repeats (computed once per message, not per row)."""
    return (message_id, m.kind, m.conv, m.sender, m.sender_device, m.ts, m.expires_at)


def new_item(
    m: OutgoingMessage, message_id: MessageId, device: DeviceId, pos: MailboxPos, body: bytes
) -> MailboxItem:
    """The mailbox item of ``m`` stored for ``device`` at ``pos``."""
    return MailboxItem(
        device=device,
        pos=pos,
        kind=m.kind,
        conv=m.conv,
        sender=m.sender,
        sender_device=m.sender_device,
        ts=m.ts,
        expires_at=m.expires_at,
        body=body,
        message_id=message_id,
    )


def shared_items(
    m: OutgoingMessage, message_id: MessageId, devices: Sequence[DeviceId], positions: Sequence[int]
) -> SharedItems:
    """The group items of ``m`` (its ``shared_body`` stored once): ``devices[i]`` at ``positions[i]``."""
    body = m.shared_body
    assert body is not None, "only a group message has shared items"
    return SharedItems(
        kind=m.kind,
        conv=m.conv,
        sender=m.sender,
        sender_device=m.sender_device,
        ts=m.ts,
        expires_at=m.expires_at,
        body=body,
        message_id=message_id,
        devices=devices,
        positions=positions,
    )


def stored(
    m: OutgoingMessage, message_id: MessageId, items: tuple[MailboxItem, ...], shared: SharedItems | None
) -> AppendResult:
    """A new message's result."""
    return AppendResult(
        message_id=message_id, ts=m.ts, expires_at=m.expires_at, duplicate=False, items=items, shared=shared
    )


def repeated(first_id: MessageId, ts: Timestamp, expires_at: Timestamp) -> AppendResult:
    """The result of a message whose client id was known: the first message's, storing nothing."""
    return AppendResult(message_id=first_id, ts=ts, expires_at=expires_at, duplicate=True, items=())
