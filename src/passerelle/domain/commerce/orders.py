"""Orders: a cart priced from the catalog (never from what the customer's app wrote), and the
statuses an order moves through."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from passerelle.domain.commerce.catalog import Product
from passerelle.domain.commerce.money import Money
from passerelle.domain.errors import Conflict, InvalidInput, NotFound

LINES_MAX: Final = 100
QUANTITY_MAX: Final = 1000
OPEN_ORDERS_MAX: Final = 20
"""Orders of one customer at one business that are still ``pending`` (not paid, not cancelled)."""
ORDERS_MAX: Final = 1000
"""Orders one customer keeps at one business (the history)."""


class OrderStatus(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


NEXT: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}
"""Which status may follow which. ``refunded`` is set by a refund of the order's payment."""
RELEASES_STOCK: Final = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED})
"""Moving to these puts the reserved quantities back (before shipping)."""


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    if new not in NEXT[current]:
        raise Conflict(f"an order that is {current.value} cannot become {new.value}")


@dataclass(frozen=True, slots=True)
class CartLine:
    """What the customer asked for: a retailer id and a quantity (any price they wrote is not here)."""

    retailer_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    retailer_id: str
    name: str
    quantity: int
    unit_price: int
    """Minor units, from the catalog at the time of the order."""

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class PricedCart:
    lines: tuple[OrderLine, ...]
    total: Money


def merge_lines(lines: Sequence[CartLine]) -> tuple[CartLine, ...]:
    """Checked quantities, one line per product (the same product twice adds up), in first order."""
    if not 1 <= len(lines) <= LINES_MAX:
        raise InvalidInput(f"an order has 1 to {LINES_MAX} items")
    merged: dict[str, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not 1 <= line.quantity <= QUANTITY_MAX:
            raise InvalidInput(f"quantity of {line.retailer_id[:100]!r} is 1 to {QUANTITY_MAX}")
        merged[line.retailer_id] = merged.get(line.retailer_id, 0) + line.quantity
        if merged[line.retailer_id] > QUANTITY_MAX:
            raise InvalidInput(f"quantity of {line.retailer_id[:100]!r} is 1 to {QUANTITY_MAX}")
    return tuple(CartLine(r, q) for r, q in merged.items())


def price_cart(lines: Sequence[CartLine], products: Mapping[str, Product]) -> PricedCart:
    """The order's lines and total from the catalog's products (by retailer id). Raises
    ``NotFound`` for a product the catalog does not have, ``Conflict`` for one that is not for sale
    or lacks the stock (the message names it), ``InvalidInput`` for a cart mixing currencies."""
    priced: list[OrderLine] = []
    currency = ""
    for line in merge_lines(lines):
        product = products.get(line.retailer_id)
        if product is None:
            raise NotFound(f"the catalog has no product {line.retailer_id[:100]!r}")
        if not product.sellable():
            raise Conflict(f"{line.retailer_id!r} is out of stock")
        if product.fields.stock < line.quantity:
            raise Conflict(f"{line.retailer_id!r} has only {product.fields.stock} left")
        if currency and product.fields.currency != currency:
            raise InvalidInput("an order is in one currency")
        currency = product.fields.currency
        priced.append(OrderLine(line.retailer_id, product.fields.name, line.quantity, product.fields.price))
    return PricedCart(tuple(priced), Money(sum(p.amount for p in priced), currency))
