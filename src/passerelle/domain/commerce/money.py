"""Money as integers: an amount is a count of the currency's minor units (cents) with its ISO 4217
code. Never a float: the Cloud API's ``{"value", "offset"}`` and the ``order`` webhook's decimal
price are made from these integers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from passerelle.domain.errors import InvalidInput

MINOR_DIGITS: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "AED AUD BRL CAD CHF CNY CZK DKK EGP EUR GBP HKD HUF IDR ILS INR MAD MXN MYR NGN NOK NZD "
            "PHP PLN RON SAR SEK SGD THB TRY TWD UAH USD XOF ZAR"
        ).split(),
        2,
    ),
    **dict.fromkeys("CLP ISK JPY KRW VND XAF".split(), 0),
    **dict.fromkeys("BHD JOD KWD OMR TND".split(), 3),
}
"""The currencies a catalog may price in, with their minor-unit digits (ISO 4217)."""
PRICE_MAX: Final = 10**12
"""The largest unit price, in minor units (10 billion euros): sums of bounded lines stay exact."""


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    @property
    def offset(self) -> int:
        """The Cloud API's ``offset``: 10 to the power of the currency's minor digits."""
        return int(10 ** MINOR_DIGITS[self.currency])

    def decimal(self) -> Decimal:
        """Major units, exactly (``1250`` EUR → ``Decimal('12.50')``)."""
        return Decimal(self.minor).scaleb(-MINOR_DIGITS[self.currency])

    def text(self) -> str:
        """``12.50 EUR``: what a person reads."""
        return f"{self.decimal()} {self.currency}"


def check_currency(code: str) -> str:
    """An ISO 4217 code the catalog may use (any case in, upper case out)."""
    upper = code.strip().upper()
    if upper not in MINOR_DIGITS:
        raise InvalidInput(f"currency {code[:8]!r} is not one of the supported ISO 4217 codes")
    return upper


def check_price(minor: int) -> int:
    if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= PRICE_MAX:
        raise InvalidInput(f"a price is an integer count of minor units, 0 to {PRICE_MAX}")
    return minor
