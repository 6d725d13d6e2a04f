"""Mailbox records as ``deliver`` items. How a ``deliver`` frame is written, from items or from
pre-encoded parts, is declared once, in passerelle.proto.codec."""

from __future__ import annotations

from msgspec import Raw

from passerelle.proto.codec import item_tail
from passerelle.proto.frames import Item
from passerelle.service.records import MailboxItem, SharedItems


def shared_tail(shared: SharedItems) -> bytes:
    """The JSON of a group item after its position: the same for every device (``item_tail``)."""
    return item_tail(to_item(shared, 0))


def to_item(record: MailboxItem | SharedItems, pos: int) -> Item:
    """The item at ``pos`` of a mailbox record (or of a group message's records, which differ only
    in their device and position)."""
    return Item(
        pos=pos,
        kind=record.kind,  # type: ignore[arg-type]
        conv=record.conv,
        sender=record.sender,
        dev=record.sender_device,
        ts=record.ts,
        exp=record.expires_at,
        body=Raw(record.body),
        mid=record.message_id,
    )
