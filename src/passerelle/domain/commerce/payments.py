"""Payments of orders: statuses, and the sandbox's documented test cards (docs/commerce.md)."""

from __future__ import annotations

import enum
import re
from typing import Final

from passerelle.domain.errors import InvalidInput

IDEMPOTENCY_KEY: Final = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
PAYMENTS_PER_ORDER_MAX: Final = 10
"""Attempts (declined ones included) one order may have."""


class PaymentStatus(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


TAKES_THE_ORDER: Final = frozenset({PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})
"""At most one payment of an order is in one of these: a second is refused, so nothing is charged
twice; a ``failed`` one leaves the order free to be paid again."""


def check_idempotency_key(key: str) -> str:
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("an idempotency key has 8 to 128 letters, digits and . _ : -")
    return key
