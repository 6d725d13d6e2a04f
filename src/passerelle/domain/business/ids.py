"""Ids of the business side, businesses' addresses and display numbers, and the per-business person
ids (docs/business.md sections 1 to 3).

A person's ids at a business come from ``HMAC-SHA256(business secret, form 0x00 account 0x00
attempt)``: independent across businesses (each has its own secret), deterministic (two nodes agree
without a lock), mapped back through the store (an HMAC cannot be inverted). ``attempt`` moves on
only when a derived id is already another person's at that business.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final, NewType

from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId

BusinessId = NewType("BusinessId", str)
"""``bz_`` + 22 URL-safe characters."""
WabaId = NewType("WabaId", str)
"""A business account: 15 digits (the Cloud API's WABA id)."""
PhoneNumberId = NewType("PhoneNumberId", str)
"""A business number: 15 digits (the Cloud API's ``phone_number_id``)."""
WaId = NewType("WaId", str)
"""A person at one business: 15 digits, not starting with 0."""
UserId = NewType("UserId", str)
"""A person at one business: ``ZZ.`` + 19 digits (the Cloud API's business-scoped user id)."""
TemplateId = NewType("TemplateId", str)
"""A message template: 15 digits (the Cloud API's template id, also its ``hsm_id``)."""
SystemTokenId = NewType("SystemTokenId", str)
"""The public name of a system-user token (``st_`` + 16 characters); the token itself is secret."""

ADDRESS_APP: Final = "biz"
"""Businesses' addresses are ``biz:<slug>``; no app may be called ``biz``."""
SLUG: Final = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
BUSINESS_ID: Final = re.compile(r"^bz_[A-Za-z0-9_-]{22}$")
NUMERIC_ID: Final = re.compile(r"^[1-9][0-9]{14}$")
WA_ID_DIGITS: Final = 15
USER_ID_DIGITS: Final = 19
USER_ID_COUNTRY: Final = "ZZ"
DISPLAY_NUMBER: Final = re.compile(r"^[1-9][0-9]{7,14}$")
_DISPLAY_PUNCTUATION: Final = re.compile(r"[\s+\-().]")
SECRET_BYTES: Final = 32


def normalize_slug(raw: str) -> str:
    slug = raw.strip().lower()
    if slug.startswith(f"{ADDRESS_APP}:"):
        slug = slug[len(ADDRESS_APP) + 1 :]
    if not SLUG.match(slug):
        raise InvalidInput(
            "a business's slug has 3 to 32 lower-case letters, digits and '-', starts with a letter "
            "and does not end with '-'"
        )
    return slug


def business_address(slug: str) -> str:
    return f"{ADDRESS_APP}:{slug}"


def normalize_display_number(raw: str) -> str:
    """``+33 1 23-45-67-89`` → ``33123456789`` (digits only, E.164 without ``+``: 8 to 15 digits)."""
    digits = _DISPLAY_PUNCTUATION.sub("", raw)
    if not digits.isascii() or not DISPLAY_NUMBER.match(digits):
        raise InvalidInput("a display number has 8 to 15 digits in international form, like +33123456789")
    return digits


def is_numeric_id(text: str) -> bool:
    """A WABA or phone-number id: 15 digits, the first not 0."""
    return NUMERIC_ID.match(text) is not None


def numeric_id_from(entropy: bytes) -> str:
    """A 15-digit id (not starting with 0) from at least 8 random bytes (the caller draws them)."""
    return _digits(entropy, WA_ID_DIGITS)


def _digits(material: bytes, n: int) -> str:
    low = 10 ** (n - 1)
    return str(low + int.from_bytes(material[:8], "big") % (9 * low))


def _mac(secret: bytes, form: bytes, account: AccountId, attempt: int) -> bytes:
    message = form + b"\0" + account.encode() + b"\0" + str(attempt).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def derive_wa_id(secret: bytes, account: AccountId, attempt: int = 0) -> WaId:
    return WaId(_digits(_mac(secret, b"wa_id", account, attempt), WA_ID_DIGITS))


def derive_user_id(secret: bytes, account: AccountId, attempt: int = 0) -> UserId:
    # 19 digits fit in 8 bytes' worth (2^64 > 9 * 10^18): every digit string is reachable.
    return UserId(f"{USER_ID_COUNTRY}.{_digits(_mac(secret, b'user_id', account, attempt), USER_ID_DIGITS)}")


def is_user_id(text: str) -> bool:
    return re.fullmatch(rf"{USER_ID_COUNTRY}\.[1-9][0-9]{{{USER_ID_DIGITS - 1}}}", text) is not None


def token_hash(token: str) -> str:
    """What the store keeps of a system-user token: tokens are 256 random bits, so one SHA-256
    suffices (no salt or slow hash is needed against guessing)."""
    return hashlib.sha256(token.encode()).hexdigest()
