"""Safety numbers: a short string two people compare (or scan) to check each other's device keys.

After Signal's numeric fingerprints. Each side's fingerprint is an iterated SHA-512 over a version,
that account's ed25519 device keys (decoded, sorted, so the order the server lists them in does not
matter) and its account id. Each fingerprint gives 30 digits; the two halves are put in a fixed
order (the smaller first), so both people see the same 60 digits. The number changes when either side
adds, removes or replaces a device key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from passerelle.crypto.encoding import b64decode, b64encode

VERSION = 0
ITERATIONS = 5200
QR_PREFIX = "passerelle-safety"


def _fingerprint(account_id: str, ed25519_keys: Iterable[str]) -> bytes:
    keys = sorted({_key_bytes(k) for k in ed25519_keys})
    if not keys:
        raise ValueError("a safety number needs at least one key on each side")
    material = b"".join(keys)
    digest = hashlib.sha512(VERSION.to_bytes(2, "big") + material + account_id.encode()).digest()
    for _ in range(ITERATIONS):
        digest = hashlib.sha512(digest + material).digest()
    return digest[:32]


def _key_bytes(key: str) -> bytes:
    raw = b64decode(key)
    if len(raw) != 32:
        raise ValueError("an ed25519 key has 32 bytes")
    return raw


def _digits(fingerprint: bytes) -> str:
    """30 digits: six 5-byte chunks, each reduced to 5 decimal digits."""
    return "".join(f"{int.from_bytes(fingerprint[i : i + 5], 'big') % 100_000:05d}" for i in range(0, 30, 5))


def safety_number(
    my_account_id: str, my_ed25519_keys: Iterable[str], their_account_id: str, their_keys: Iterable[str]
) -> str:
    """60 digits in 12 groups of 5 separated by spaces; both people get the same string."""
    mine = _digits(_fingerprint(my_account_id, my_ed25519_keys))
    theirs = _digits(_fingerprint(their_account_id, their_keys))
    digits = mine + theirs if mine <= theirs else theirs + mine
    return " ".join(digits[i : i + 5] for i in range(0, 60, 5))


def safety_qr_payload(
    my_account_id: str, my_ed25519_keys: Iterable[str], their_account_id: str, their_keys: Iterable[str]
) -> str:
    """What my screen shows as a QR code: ``passerelle-safety:0:<my fingerprint>:<theirs>``."""
    mine = b64encode(_fingerprint(my_account_id, my_ed25519_keys))
    theirs = b64encode(_fingerprint(their_account_id, their_keys))
    return f"{QR_PREFIX}:{VERSION}:{mine}:{theirs}"


def verify_safety_qr(
    scanned: str,
    my_account_id: str,
    my_ed25519_keys: Iterable[str],
    their_account_id: str,
    their_keys: Iterable[str],
) -> bool:
    """True when ``scanned`` (read from their screen) shows their keys and mine as I know them."""
    expected = safety_qr_payload(their_account_id, their_keys, my_account_id, my_ed25519_keys)
    return hmac.compare_digest(scanned.encode(), expected.encode())
