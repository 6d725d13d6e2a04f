"""``CommerceStore``: the port of the commerce services, and its records. Every method is one
transaction."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.commerce.catalog import Product
from passerelle.domain.commerce.money import Money
from passerelle.domain.commerce.orders import CartLine, OrderLine, OrderStatus
from passerelle.domain.commerce.payments import PaymentStatus
from passerelle.domain.ids import AccountId, Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogRecord:
    id: str
    business: BusinessId
    name: str
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecord:
    id: str
    business: BusinessId
    catalog: str
    account: AccountId
    lines: tuple[OrderLine, ...]
    total: Money
    status: OrderStatus
    created_at: Timestamp
    updated_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRecord:
    id: str
    order: str
    idempotency_key: str
    amount: Money
    status: PaymentStatus
    provider: str
    provider_ref: str
    method: str
    error: str
    created_at: Timestamp
    updated_at: Timestamp


class Placed(enum.Enum):
    PLACED = "placed"
    NO_STOCK = "no_stock"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class PaymentAdded:
    payment: PaymentRecord
    created: bool
    """False: ``payment`` is the one that was there (the same idempotency key, or the payment that
    already takes the order — compare its key)."""


class CommerceStore(Protocol):
    async def create_catalog(self, catalog: CatalogRecord, *, cap: int) -> bool:
        """False (and nothing written) when the business has ``cap`` catalogs."""
        ...

    async def get_catalog(self, catalog: str) -> CatalogRecord | None: ...

    async def catalogs_of(self, business: BusinessId) -> list[CatalogRecord]: ...

    async def put_product(self, product: Product, *, cap: int) -> Product | None:
        """Creates the product, or changes the one of the same retailer id (keeping its id and
        creation time); the stored product, or None when the catalog holds ``cap`` products."""
        ...

    async def products(self, catalog: str, *, after: str | None, limit: int) -> list[Product]:
        """By retailer id, after ``after``."""
        ...

    async def products_by_retailer_id(
        self, catalog: str, retailer_ids: Sequence[str]
    ) -> dict[str, Product]: ...

    async def delete_product(self, catalog: str, retailer_id: str) -> bool: ...

    async def place_order(
        self, order: OrderRecord, reserve: Sequence[CartLine], *, open_cap: int, cap: int
    ) -> Placed:
        """Writes the order and takes each line's quantity from the product's stock, all or none:
        ``NO_STOCK`` when a product lacks it now; ``TOO_MANY`` when the customer has ``open_cap``
        pending orders or ``cap`` orders at the business."""
        ...

    async def get_order(self, order: str) -> OrderRecord | None: ...

    async def orders_of(self, business: BusinessId, account: AccountId, *, limit: int) -> list[OrderRecord]:
        """Newest first."""
        ...

    async def orders_of_account(self, account: AccountId) -> list[OrderRecord]:
        """Every order of the person, at every business, oldest first (the export)."""
        ...

    async def set_order_status(
        self, order: str, *, expected: OrderStatus, status: OrderStatus, at: Timestamp, release: bool
    ) -> bool:
        """Only from ``expected``; ``release`` gives the lines' quantities back to the stock."""
        ...

    async def unpaid_orders(self, *, before: Timestamp, limit: int) -> list[OrderRecord]:
        """``pending`` orders created before ``before`` with no payment that succeeded or was refunded,
        nor one pending that changed since ``before``: the janitor cancels them (and fails their stale
        pending payments) and their stock comes back."""
        ...

    async def add_payment(self, payment: PaymentRecord, *, cap: int) -> PaymentAdded | None:
        """Records a new payment of an order, unless one with the same key exists or another takes
        the order (``PaymentAdded.created`` False, with that one); None when the order had ``cap``
        attempts."""
        ...

    async def get_payment(self, payment: str) -> PaymentRecord | None: ...

    async def payments_of(self, order: str) -> list[PaymentRecord]:
        """Oldest first."""
        ...

    async def change_payment(self, payment: PaymentRecord, *, expected: PaymentStatus) -> bool:
        """Writes the status, provider reference, method, error and time, only from ``expected``."""
        ...
