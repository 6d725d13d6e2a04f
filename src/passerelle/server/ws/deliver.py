"""The ``deliver`` frame, built for speed: a group message goes to a thousand devices with only the
mailbox position differing from one frame to the next, so its item is encoded once and each frame is
the constant parts around the position (test_deliver_frames checks them against msgspec's own
encoding of the same frame)."""

from __future__ import annotations

from msgspec import Raw

from passerelle.proto.codec import encode
from passerelle.proto.frames import Item
from passerelle.service.records import MailboxItem, SharedItems

# msgspec writes the tag first and the fields in declaration order.
DELIVER_OPEN = b'{"t":"deliver","items":['
DELIVER_CLOSE = b"]}"
ITEM_HEAD = b'{"pos":'
DELIVER_HEAD = DELIVER_OPEN + ITEM_HEAD


def shared_tail(shared: SharedItems) -> bytes:
    """The JSON of a group item after its position: the same for every device."""
    item = Item(
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
    encoded = encode(item)
    assert encoded.startswith(ITEM_HEAD + b"0,"), encoded[:16]
    return encoded[len(ITEM_HEAD) + 1 :]


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
