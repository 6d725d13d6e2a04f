"""Commerce as people's apps call it (docs/protocol.md §15.5, docs/commerce.md): a business's
public catalogs, placing an order, their orders with a business, paying one. Prices are integers
in the currency's minor units; the total of an order is the server's, from the catalog."""

from __future__ import annotations

from typing import Annotated

import msgspec

from passerelle.proto.rest.base import Answer, Body, Short

RetailerId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class CatalogOut(Answer, frozen=True):
    catalog_id: str
    name: str


class CatalogList(Answer, frozen=True):
    catalogs: list[CatalogOut]


class ProductOut(Answer, frozen=True):
    product_id: str
    retailer_id: str
    name: str
    description: str
    price: int
    currency: str
    images: list[str]
    stock: int
    availability: str


class ProductPage(Answer, frozen=True):
    catalog_id: str
    name: str
    products: list[ProductOut]
    after: str | None = None
    """Give it as ``after`` for the next page; absent on the last."""


class OrderItemIn(Body):
    product_retailer_id: RetailerId
    quantity: int
    item_price: int | None = None
    """What the app showed, in minor units: ignored (the catalog's price counts)."""
    currency: Short | None = None
    """Ignored, like ``item_price``."""


class NewOrder(Body):
    catalog_id: Short
    product_items: Annotated[list[OrderItemIn], msgspec.Meta(min_length=1, max_length=100)]


class OrderLineOut(Answer, frozen=True):
    product_retailer_id: str
    name: str
    quantity: int
    unit_price: int
    amount: int


class PaymentOut(Answer, frozen=True):
    payment_id: str
    order_id: str
    status: str
    """``pending``, ``succeeded``, ``failed`` or ``refunded``."""
    amount: int
    currency: str
    method: str
    error: str
    created_at: int
    updated_at: int


class OrderOut(Answer, frozen=True):
    order_id: str
    business_id: str
    catalog_id: str
    status: str
    """``pending``, ``processing``, ``shipped``, ``delivered``, ``cancelled`` or ``refunded``."""
    currency: str
    total: int
    items: list[OrderLineOut]
    payments: list[PaymentOut]
    created_at: int
    updated_at: int


class OrderList(Answer, frozen=True):
    orders: list[OrderOut]


class PayOrder(Body):
    payment_method: Short
    """For the sandbox provider, a test card number (docs/commerce.md); for a real provider, the
    token its client library made on the device."""
    idempotency_key: Short
    """8 to 128 letters, digits and ``. _ : -``; the same key answers the same payment."""
