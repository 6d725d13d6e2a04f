"""Mailbox records as ``deliver`` items. How a ``deliver`` frame is written, from items or from
pre-encoded parts, is declared once, in passerelle.proto.codec."""

from __future__ import annotations

from msgspec import Raw

from passerelle.proto.codec import item_tail
from passerelle.proto.frames import Item
from passerelle.service.records import MailboxItem, SharedItems


def shared_tail(shared: SharedItems) -> bytes:
    """The JSON of a group item after its position: the same for every device (``item_tail``)."""
    return item_tail(
        Item(
            pos=0,
            kind=shared.kind,  # type: ignore[arg-type]
            conv=shared.conv,
            sender=shared.sender,
            dev=shared.sender_device,
            ts=shared.ts,
            exp=shared.expires_at,
            body=Raw(shared.body),
            mid=shared.message_id,
        )
    )


def to_item(item: MailboxItem) -> Item:
    return Item(
        pos=item.pos,
        kind=item.kind,  # type: ignore[arg-type]
        conv=item.conv,
        sender=item.sender,
        dev=item.sender_device,
        ts=item.ts,
        exp=item.expires_at,
        body=Raw(item.body),
        mid=item.message_id,
    )
