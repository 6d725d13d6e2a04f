"""``client.businesses`` commerce (docs/commerce.md): a business's public catalog, a shared
product shown from its content, an order sent from a cart, one's orders with a business (the same
on every app and device: the server keeps them), paying an order.

```python
shop = await client.businesses.find("biz:velo-paris")
page = await client.businesses.products(shop.business_id, catalog_id)
order = await client.businesses.order(shop.business_id, catalog_id, {"bike-1": 1, "bell": 2})
paid = await client.businesses.pay(order.order_id, "4242 4242 4242 4242", idempotency_key=key)
history = await client.businesses.orders(shop.business_id)     # on any app, any device
```

Rules
1. An order names products and quantities only; the business side prices it from its catalog, and
   the answer (and ``orders``) carries the server's total in minor units.
2. ``pay`` takes an idempotency key: retrying with the same key (after a timeout, a crash) answers
   the same payment and never charges twice; a new key for an order already paid is ``Conflict``.
   Without a key one is made, which is safe for one call but not for a retry: give one.
3. A product a business shares in chat travels inside the end-to-end encryption with what the
   person sees of it (name, price, image reference) under ``cloud["products"]``; ``shown_products``
   reads it, and an app that cannot show products shows the message's text, which says the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from passerelle.domain.commerce.money import MINOR_DIGITS
from passerelle.proto.rest.commerce import (
    CatalogList,
    OrderList,
    OrderOut,
    PaymentOut,
    ProductPage,
)
from passerelle.sdk.events import Message
from passerelle.sdk.rest import RestApi


def _seg(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownProduct:
    """A product as a business's message shows it."""

    retailer_id: str
    name: str
    price: int
    """Minor units."""
    currency: str
    image: str | None
    available: bool

    @property
    def price_text(self) -> str:
        return price_text(self.price, self.currency)


def price_text(minor: int, currency: str) -> str:
    """``1250, "EUR"`` → ``12.50 EUR`` (exact, no float)."""
    digits = MINOR_DIGITS.get(currency, 2)
    return f"{Decimal(minor).scaleb(-digits)} {currency}"


def shown_products(message: Message) -> list[ShownProduct]:
    """The products a business's ``product`` / ``product_list`` / ``catalog_message`` shows."""
    cloud: Mapping[str, Any] = message.cloud or {}
    found = []
    for p in cloud.get("products") or ():
        try:
            found.append(
                ShownProduct(
                    retailer_id=str(p["retailer_id"]),
                    name=str(p["name"]),
                    price=int(p["price"]),
                    currency=str(p["currency"]),
                    image=str(p["image"]) if p.get("image") else None,
                    available=bool(p.get("available", True)),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a member this version does not understand: the text still says it
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdate:
    """An ``order_status`` message: the order it is about and the status the business wrote."""

    order_id: str
    status: str
    description: str


def order_update(message: Message) -> OrderUpdate | None:
    item = _interactive(message, "order_status")
    params = (item.get("action") or {}).get("parameters") or {}
    order = params.get("order") or {}
    if not params.get("reference_id") or not order.get("status"):
        return None
    return OrderUpdate(
        order_id=str(params["reference_id"]),
        status=str(order["status"]),
        description=str(order.get("description") or ""),
    )


def _interactive(message: Message, kind: str) -> Mapping[str, Any]:
    cloud: Mapping[str, Any] = message.cloud or {}
    item = cloud.get("interactive") or {}
    return item if cloud.get("type") == "interactive" and item.get("type") == kind else {}


class CommerceApi:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def catalogs(self, business_id: str) -> CatalogList:
        return await self._rest.call_json("GET", f"/v1/businesses/{_seg(business_id)}/catalogs", CatalogList)

    async def products(
        self,
        business_id: str,
        catalog_id: str,
        *,
        after: str | None = None,
        limit: int = 50,
        ids: Sequence[str] = (),
    ) -> ProductPage:
        """A page of a catalog's products by retailer id (``ids``: only these, at most 30)."""
        params = {"limit": str(limit)}
        if after is not None:
            params["after"] = after
        if ids:
            params["ids"] = ",".join(ids)
        path = f"/v1/businesses/{_seg(business_id)}/catalogs/{_seg(catalog_id)}/products"
        return await self._rest.call_json("GET", path, ProductPage, params=params)

    async def order(
        self,
        business_id: str,
        catalog_id: str,
        items: Mapping[str, int] | Sequence[tuple[str, int]],
        *,
        shown_prices: Mapping[str, int] | None = None,
    ) -> OrderOut:
        """Send a cart (retailer id → quantity). ``shown_prices`` (what the app displayed) travel as
        the Cloud API's ``item_price`` and are ignored by the business side."""
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        lines = []
        for retailer_id, quantity in pairs:
            line: dict[str, Any] = {"product_retailer_id": retailer_id, "quantity": quantity}
            if shown_prices is not None and retailer_id in shown_prices:
                line["item_price"] = shown_prices[retailer_id]
            lines.append(line)
        body = {"catalog_id": catalog_id, "product_items": lines}
        return await self._rest.call_json(
            "POST", f"/v1/businesses/{_seg(business_id)}/orders", OrderOut, body=body
        )

    async def orders(self, business_id: str) -> list[OrderOut]:
        """One's orders with a business, newest first, with their payments."""
        answer = await self._rest.call_json("GET", f"/v1/businesses/{_seg(business_id)}/orders", OrderList)
        return answer.orders

    async def pay(
        self, order_id: str, payment_method: str, *, idempotency_key: str | None = None
    ) -> PaymentOut:
        key = idempotency_key or "pay-" + secrets.token_urlsafe(16)
        body = {"payment_method": payment_method, "idempotency_key": key}
        return await self._rest.call_json(
            "POST", f"/v1/orders/{_seg(order_id)}/payments", PaymentOut, body=body
        )

    async def payment_request(self, message: Message, business_id: str) -> OrderOut | None:
        """The order an ``order_details`` message asks to pay, as the server keeps it (its total is
        what ``pay`` takes, whatever amount the message wrote); None when the message is not one or
        names no order of one's own at this business."""
        item = _interactive(message, "order_details")
        reference = ((item.get("action") or {}).get("parameters") or {}).get("reference_id")
        if not reference:
            return None
        return next((o for o in await self.orders(business_id) if o.order_id == reference), None)

    async def confirm_payment(self, payment_id: str) -> PaymentOut:
        """Complete a pending payment's step (the sandbox's authentication card)."""
        return await self._rest.call_json("POST", f"/v1/payments/{_seg(payment_id)}/confirm", PaymentOut)
