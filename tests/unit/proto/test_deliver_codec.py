"""``deliver`` frames built from pre-encoded items (the server's fan-out encodes a group item once and
splices each device's position in) are byte for byte what msgspec writes for the same frame."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from msgspec import Raw

from passerelle.proto.codec import (
    decode_server_frame,
    deliver_frames,
    deliver_one,
    encode,
    item_at,
    item_tail,
)
from passerelle.proto.frames import MAX_DELIVER_ITEMS, Deliver, Item

BODY = b'{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"Awg\\"A\\u00e9"}'


def item(pos: int, mid: int | None = 7, body: bytes = BODY) -> Item:
    return Item(
        pos=pos,
        kind="msg",
        conv="g_1",
        sender="a_alice",
        dev="d_alice",
        ts=1_700_000_000_000,
        exp=1_800_000_000_000,
        body=Raw(body),
        mid=mid,
    )


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=2**63 - 1))
def test_one_item_frame_is_what_msgspec_writes(pos: int, encoded_at: int) -> None:
    tail = item_tail(item(encoded_at))  # the tail does not depend on the position it was encoded with
    assert deliver_one(pos, tail) == encode(Deliver(items=[item(pos)]))
    assert item_at(pos, tail) == encode(item(pos))


def test_an_item_without_a_message_id_splices_too() -> None:
    tail = item_tail(item(0, mid=None))
    assert deliver_one(5, tail) == encode(Deliver(items=[item(5, mid=None)]))
    assert b'"mid"' not in tail


def test_frames_of_encoded_items_keep_order_and_both_bounds() -> None:
    parts = [item_at(pos, item_tail(item(0))) for pos in range(1, 600)]
    frames = list(deliver_frames(parts, max_bytes=1 << 20))
    assert [len(f.items) for f in map(decode_server_frame, frames) if isinstance(f, Deliver)] == [
        MAX_DELIVER_ITEMS,
        MAX_DELIVER_ITEMS,
        599 - 2 * MAX_DELIVER_ITEMS,
    ]
    assert frames[0] == encode(Deliver(items=[item(pos) for pos in range(1, MAX_DELIVER_ITEMS + 1)]))

    big = [encode(item(pos, body=b'{"c":"' + b"A" * 3000 + b'"}')) for pos in range(1, 10)]
    small = list(deliver_frames(big, max_bytes=10_000))
    assert len(small) > 1 and all(len(f) <= 10_000 for f in small)
    decoded = [msgspec.json.decode(f) for f in small]
    assert [i["pos"] for d in decoded for i in d["items"]] == list(range(1, 10))
    # An item larger than the limit alone travels alone.
    alone = list(deliver_frames(big[:2], max_bytes=100))
    assert [[i["pos"] for i in msgspec.json.decode(f)["items"]] for f in alone] == [[1], [2]]
