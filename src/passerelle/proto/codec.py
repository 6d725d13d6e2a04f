"""Bytes to frames and back. JSON enters and leaves the protocol only here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import msgspec

from passerelle.proto.errors import RemoteProtocolError
from passerelle.proto.frames import MAX_DELIVER_ITEMS, Ack, ClientFrame, Item, ServerFrame

_encoder = msgspec.json.Encoder()
_client_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
_server_decoder: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_ack_decoder = msgspec.json.Decoder(Ack)

encode = _encoder.encode


def _explain(exc: msgspec.MsgspecError) -> RemoteProtocolError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        if "Invalid value" in text and "`$.t`" in text:
            return RemoteProtocolError("unknown_frame", f"unknown frame type: {text}")
        return RemoteProtocolError("bad_frame", text)
    return RemoteProtocolError("bad_json", f"not a JSON frame: {text}")


def decode_client_frame(data: bytes | str) -> ClientFrame:
    try:
        return _client_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise _explain(exc) from exc
    except RecursionError as exc:  # JSON nested deeper than the decoder's stack allows
        raise RemoteProtocolError("bad_json", "not a JSON frame: nested too deeply") from exc


def decode_ack(data: bytes) -> Ack | None:
    """An ``ack`` frame, or None when ``data`` is anything else or malformed (then the caller takes
    the general path, which answers errors as usual)."""
    try:
        return _ack_decoder.decode(data)
    except (msgspec.MsgspecError, RecursionError):
        return None


def decode_server_frame(data: bytes | str) -> ServerFrame:
    try:
        return _server_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise _explain(exc) from exc
    except RecursionError as exc:
        raise RemoteProtocolError("bad_json", "not a JSON frame: nested too deeply") from exc


# --- deliver frames from pre-encoded items -------------------------------------------------------
# A group message goes to a thousand devices with only the mailbox position differing from one
# frame to the next: its item is encoded once (``item_tail``) and each device's frame is the
# constant parts around its position (``deliver_one``). msgspec writes the tag first and the fields
# in declaration order, ``pos`` first (tests/unit/proto/test_deliver_codec.py checks these frames
# against msgspec's own encoding of the same frame).
_DELIVER_OPEN = b'{"t":"deliver","items":['
_DELIVER_CLOSE = b"]}"
_ITEM_HEAD = b'{"pos":'
_ONE_ITEM = _DELIVER_OPEN + _ITEM_HEAD + b"%d%b" + _DELIVER_CLOSE
_ITEM = _ITEM_HEAD + b"%d%b"
_ROOM = len(_DELIVER_OPEN) + len(_DELIVER_CLOSE)


def item_tail(item: Item) -> bytes:
    """The JSON of ``item`` after its position, from the comma on (whatever ``item.pos`` is): the
    same for every device the item goes to, completed by ``deliver_one`` or ``item_at``."""
    encoded = encode(item)
    assert encoded.startswith(_ITEM_HEAD), encoded[:16]
    return encoded[encoded.index(b",", len(_ITEM_HEAD)) :]


def deliver_one(pos: int, tail: bytes) -> bytes:
    """The ``deliver`` frame of one item, from its position and its ``item_tail``."""
    return _ONE_ITEM % (pos, tail)


def item_at(pos: int, tail: bytes) -> bytes:
    """One item's JSON (an element of a ``deliver`` frame's items), from its position and its
    ``item_tail``."""
    return _ITEM % (pos, tail)


def deliver_frames(items: Sequence[bytes], *, max_bytes: int) -> Iterator[bytes]:
    """``deliver`` frames of the encoded items (``encode(item)`` or ``item_at``), in order: at most
    MAX_DELIVER_ITEMS items and (unless one item alone is larger) at most ``max_bytes`` each."""
    room = max_bytes - _ROOM
    start, size = 0, 0
    for end, part in enumerate(items):
        size += len(part) + 1
        if end > start and (end - start == MAX_DELIVER_ITEMS or size > room):
            yield _DELIVER_OPEN + b",".join(items[start:end]) + _DELIVER_CLOSE
            start, size = end, len(part) + 1
    if start < len(items):
        yield _DELIVER_OPEN + b",".join(items[start:]) + _DELIVER_CLOSE
