"""The Graph-style catalog API a business's bot calls with its system-user token (docs/commerce.md
section 1), close to Meta's: ``POST/GET /{waba_id}/product_catalogs``, ``POST/GET/DELETE
/{catalog_id}/products``; an order's status and refund: ``POST /{order_id}/order_status``,
``POST /{order_id}/refunds``, ``GET /{order_id}``. Prices are integers in the currency's minor units
(Meta's ``price``: "in cents")."""

from __future__ import annotations

from typing import Annotated

import msgspec

from passerelle.proto.cloud.limits import Short, Url
from passerelle.proto.cloud.messages import Amount, Body, always
from passerelle.proto.cloud.responses import Paging


class CreateCatalog(Body):
    name: Short | None = None


class CatalogEntry(Body):
    id: str
    name: str


class CatalogList(Body):
    data: list[CatalogEntry]


class Created(Body):
    id: str


class ProductIn(Body):
    """A product to create or change (by ``retailer_id``)."""

    retailer_id: Short | None = None
    name: Short | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    price: int | None = None
    """Minor units (cents)."""
    currency: Short | None = None
    image_url: Url | None = None
    """An https URL, or ``media:<id>`` of a media the business uploaded."""
    additional_image_urls: Annotated[list[Url], msgspec.Meta(max_length=9)] | None = None
    inventory: int | None = None
    availability: Short | None = None


class ProductEntry(Body):
    id: str
    retailer_id: str
    name: str
    description: str
    price: int
    currency: str
    inventory: int
    availability: str
    additional_image_urls: list[str]
    image_url: str | None = None


class ProductList(Body):
    data: list[ProductEntry]
    paging: Paging | None = None


class OrderStatusIn(Body):
    status: Short | None = None
    description: Short | None = None


class OrderItem(Body):
    product_retailer_id: str
    name: str
    quantity: int
    item_price: Amount
    amount: Amount


class OrderEntry(Body):
    """An order as the business reads it: ``wa_id`` / ``user_id`` are the customer's ids at the
    business."""

    id: str
    catalog_id: str
    status: str
    currency: str
    total_amount: Amount
    product_items: list[OrderItem]
    wa_id: str
    user_id: str
    created_timestamp: int
    updated_timestamp: int
    payment_status: str | None = None


class RefundAnswer(Body):
    id: str
    """The payment's id."""
    status: str
    reference_id: str
    amount: Amount
    currency: str
    success: bool = always(True)
