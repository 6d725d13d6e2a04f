"""The real clock and the real randomness, behind the Clock and IdGenerator ports."""

from __future__ import annotations

import secrets
import time

from passerelle.domain.ids import AccountId, DeviceId, Timestamp

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_CHARS = 22
"""22 characters of 36 symbols: 113 random bits."""


class SystemClock:
    def now_ms(self) -> Timestamp:
        return Timestamp(time.time_ns() // 1_000_000)

    def monotonic(self) -> float:
        return time.monotonic()


def _random_chars(count: int) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(count))


class RandomIds:
    """Ids and secrets from ``secrets``. Account ids are ``a_`` + 22 characters, device ids ``d`` +
    22 (lower-case letters and digits: never mistaken for a direct conversation's ``d_`` id)."""

    def account_id(self) -> AccountId:
        return AccountId("a_" + _random_chars(ID_CHARS))

    def device_id(self) -> DeviceId:
        return DeviceId("d" + _random_chars(ID_CHARS))

    def token(self) -> str:
        return secrets.token_urlsafe(32)

    def code(self, digits: int) -> str:
        if not 1 <= digits <= 12:
            raise ValueError("a code has 1 to 12 digits")
        return f"{secrets.randbelow(10**digits):0{digits}d}"
