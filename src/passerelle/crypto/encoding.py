"""The two encodings every signature and key on the wire depends on (docs/protocol.md §1).

Canonical JSON is what gets signed: sorted keys, no spaces, UTF-8, non-ASCII kept as is. Binary
values are standard base64 *without* padding, as vodozemac and libolm expect; URL-safe base64 is
rejected by vodozemac and padding is rejected by libolm, so neither is ever produced here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping


def canonical_json(obj: Mapping[str, object]) -> bytes:
    """The bytes a signature covers: ``json.dumps(sort_keys, compact, ensure_ascii=False)`` in UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64encode(raw: bytes) -> str:
    """Standard-alphabet base64 with the ``=`` padding removed."""
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Decode unpadded (or padded) standard base64; raise ValueError on anything else."""
    if not isinstance(text, str) or "-" in text or "_" in text:
        raise ValueError("not standard base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not standard base64") from exc
