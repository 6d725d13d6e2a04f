"""What the server checks of the bytes it keeps unread: frames, envelopes and mailbox item bodies.

The server never reads an envelope, but it must always be able to deliver one: a body that a
client's JSON parser cannot take would break the ``deliver`` frame that carries it, and with it the
delivery of everything behind it. So every frame is UTF-8, and every envelope (and every item body
the server writes) is a JSON object nested at most ``MAX_DEPTH`` deep (docs/protocol.md section 3).

The checks cost next to nothing on the hot path: an ASCII frame (base64 ciphertext, ids: the
common case) is valid UTF-8 after one C scan; msgspec already parsed the JSON while decoding the
frame; and counting brackets settles the depth of every ordinary envelope without walking it.
"""

from __future__ import annotations

import re
from itertools import accumulate

import msgspec

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays in an envelope (the envelope itself is depth 1)."""

_any_json = msgspec.json.Decoder(msgspec.Raw)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def utf8_problem(data: bytes) -> str | None:
    """None when ``data`` is well-formed UTF-8, else where it is not."""
    if data.isascii():
        return None
    try:
        data.decode()
    except UnicodeDecodeError as exc:
        return f"not UTF-8 at byte {exc.start}"
    return None


def _depth(data: bytes) -> int:
    """How deep the objects and arrays of JSON text ``data`` nest (0 for a scalar)."""
    opens = data.count(b"{") + data.count(b"[")
    if opens <= MAX_DEPTH:
        return opens  # an upper bound, and enough to settle it
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS).translate(_STEP)
    return max(accumulate(b if b < 128 else b - 256 for b in brackets))


def envelope_problem(data: bytes) -> str | None:
    """None when ``data``, already parsed as JSON by the frame's decoder, is a deliverable envelope:
    a JSON object at most ``MAX_DEPTH`` deep (UTF-8 was checked for the whole frame)."""
    if not data.startswith(b"{"):
        return "an envelope is a JSON object"
    if _depth(data) > MAX_DEPTH:
        return f"an envelope nests at most {MAX_DEPTH} deep"
    return None


def body_problem(data: bytes) -> str | None:
    """None when a stored item body can be delivered: UTF-8 JSON text of one object, at most
    ``MAX_DEPTH`` deep. For bytes read back from storage, which may predate these checks."""
    problem = utf8_problem(data)
    if problem is not None:
        return problem
    try:
        _any_json.decode(data)
    except msgspec.MsgspecError:
        return "not JSON"
    return envelope_problem(data.strip())
