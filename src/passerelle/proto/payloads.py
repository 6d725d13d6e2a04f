"""What the server checks of the bytes it keeps unread: frames, envelopes and mailbox item bodies.

The server never reads an envelope, but it must always be able to deliver one: a body that a
client's JSON parser cannot take would break the ``deliver`` frame that carries it, and with it the
delivery of everything behind it. So every frame is UTF-8, and every envelope (and every item body
the server writes) is a JSON object of bounded nesting (docs/protocol.md section 3).

The checks cost next to nothing on the hot path: an ASCII frame (base64 ciphertext, ids: the
common case) is valid UTF-8 after one C scan; msgspec already parsed the JSON while decoding the
frame; and the nesting of an envelope is bounded by counting its brackets, never by walking it.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

import msgspec

MAX_OPENS = 32
"""Opening brackets (``{`` and ``[``, wherever they are) in an envelope: what bounds its nesting at the
edge. An envelope is a small header around base64 ciphertext (section 6): a handful of them."""
MAX_DEPTH = 32
"""Deepest nesting of objects and arrays in an item body the server delivers (itself depth 1)."""

_any_json = msgspec.json.Decoder(msgspec.Raw)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_OPENS = bytes(b for b in range(256) if b not in b"[{")
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
    """How deep the objects and arrays of JSON text ``data`` nest (0 for a scalar): a walk over its
    brackets, strings left out. Only for a stored body with more than MAX_OPENS of them."""
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS).translate(_STEP)
    return max(accumulate(array("b", brackets)), default=0)


def envelope_problem(data: bytes) -> str | None:
    """None when ``data``, already parsed as JSON by the frame's decoder, is an envelope the server
    takes: a JSON object with at most ``MAX_OPENS`` opening brackets (UTF-8 was checked for the whole
    frame). Counting brackets rather than walking the nesting keeps the cost a memchr, whatever the
    sender puts in."""
    if data[:1] != b"{":
        return "an envelope is a JSON object"
    if not _few_opens(data):
        return f"an envelope holds at most {MAX_OPENS} opening brackets ({{ or [)"
    return None


def _few_opens(data: bytes) -> bool:
    """Whether ``data`` holds at most MAX_OPENS opening brackets, in or out of strings. Counted in
    one pass for a short text; a long one is searched (memchr) for at most MAX_OPENS + 1 of them."""
    if len(data) < 2048:
        return len(data.translate(None, _NOT_OPENS)) <= MAX_OPENS
    left = MAX_OPENS
    for char in (b"{", b"["):
        pos = data.find(char)
        while pos >= 0:
            left -= 1
            if left < 0:
                return False
            pos = data.find(char, pos + 1)
    return True


def body_problem(data: bytes) -> str | None:
    """None when a stored item body can be delivered: UTF-8 JSON text of one object, at most
    ``MAX_DEPTH`` deep. For bytes read back from storage, which may predate the checks at the edge
    (so the nesting is measured, not bounded by the count of brackets)."""
    problem = utf8_problem(data)
    if problem is not None:
        return problem
    try:
        _any_json.decode(data)
    except msgspec.MsgspecError:
        return "not JSON"
    except RecursionError:  # nested deeper than the decoder's stack allows
        return f"nested deeper than {MAX_DEPTH}"
    data = data.strip()
    if data[:1] != b"{":
        return "not a JSON object"
    if not _few_opens(data) and _depth(data) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH}"
    return None


def with_biz(envelope: bytes, biz: bytes) -> bytes:
    """``envelope`` (a JSON object, checked by ``envelope_problem``) with its ``biz`` member set to
    ``biz`` (encoded JSON), replacing one the sender may have put there: what the server delivers
    of a business's send to a person (docs/protocol.md section 15.4)."""
    members = msgspec.json.decode(envelope)
    if not isinstance(members, dict):  # pragma: no cover - envelope_problem checked it
        raise ValueError("an envelope is a JSON object")
    members["biz"] = msgspec.Raw(biz)
    return msgspec.json.encode(members)
