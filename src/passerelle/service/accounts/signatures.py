"""Canonical JSON and Ed25519 signatures, as docs/protocol.md section 1 defines them.

Binary values on the wire are standard base64 without padding. Verification never raises: a key or
signature of the wrong length, or that is not base64 at all, simply does not verify.
"""

from __future__ import annotations

import base64
import binascii
import json

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

KEY_CHARS = 43
"""A Curve25519 or Ed25519 public key: 32 bytes."""
SIGNATURE_CHARS = 86
"""An Ed25519 signature: 64 bytes."""


def canonical_json(obj: object) -> bytes:
    """The bytes that get signed: sorted keys, no spaces, UTF-8 (not ASCII-escaped)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode_unpadded_b64(text: str, *, size: int) -> bytes | None:
    """Decode unpadded standard base64 that must hold exactly ``size`` bytes; None otherwise."""
    if not text.isascii() or "=" in text or len(text) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def is_public_key(text: str) -> bool:
    """Whether ``text`` looks like a Curve25519 or Ed25519 public key (43 characters, 32 bytes)."""
    return len(text) == KEY_CHARS and decode_unpadded_b64(text, size=32) is not None


def verify_ed25519(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is the Ed25519 signature of ``message`` by ``public_key_b64``.

    libsodium's verification (PyNaCl): half the CPU of OpenSSL's here (42 against 87 µs, a login's
    largest single cost: benchmarks/README.md, scenario f), and the GIL is released meanwhile. It is
    stricter than RFC 8032 requires (a non-canonical or small-order key or R is refused), which no
    honest signer meets."""
    key = decode_unpadded_b64(public_key_b64, size=32)
    signature = decode_unpadded_b64(signature_b64, size=64)
    if key is None or signature is None:
        return False
    try:
        crypto_sign_open(signature + message, key)
    except (CryptoError, ValueError):  # BadSignatureError is a CryptoError
        return False
    return True
