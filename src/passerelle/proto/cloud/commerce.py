"""The Cloud API's commerce shapes that reach the bot as webhooks (docs/commerce.md): the inbound
``order`` message (a customer sent a cart) and the payment status of an ``order_details`` payment
request. The outbound interactive ``product`` / ``product_list`` / ``catalog_message`` /
``order_details`` / ``order_status`` members are in ``messages`` (``Action``, ``CtaParameters``).

No floats: a price in the ``order`` webhook is a ``Decimal`` written as a JSON number
(``"item_price": 12.5``, what pywa reads into ``Product.price``), made from the catalog's integer
minor units; amounts of payments are ``{"value", "offset"}`` integers as Meta writes them.

The ``order`` carries, beyond Meta's members (bots ignore unknown members), the server's order:
``order_id``, ``total_amount`` and ``currency``, computed from the business's catalog and never from
what the customer's app wrote.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final

import msgspec

from passerelle.proto.cloud.limits import ORDER_ITEMS_MAX
from passerelle.proto.cloud.messages import Amount, Body

ORDER_STATUSES: Final = ("pending", "processing", "shipped", "delivered", "cancelled", "refunded")
"""An order's statuses (docs/commerce.md section 3)."""
PAYMENT_STATUSES: Final = ("pending", "succeeded", "failed", "refunded")
"""A payment's statuses as the payment webhook names them."""


class OrderProductItem(Body):
    """One line of the inbound ``order``: the product's retailer id, the quantity, the catalog's
    unit price (major units, as a JSON number) and its ISO 4217 currency."""

    product_retailer_id: str
    quantity: int
    item_price: Decimal
    currency: str


class InboundOrder(Body):
    """``messages[0].order`` when ``messages[0].type`` is ``order``."""

    catalog_id: str
    product_items: Annotated[list[OrderProductItem], msgspec.Meta(max_length=ORDER_ITEMS_MAX)]
    text: str | None = None
    order_id: str | None = None
    """Passerelle: the order the server recorded (``reference_id`` of ``order_details``)."""
    total_amount: Amount | None = None
    """Passerelle: the order's total from the catalog, ``{"value", "offset"}``."""
    currency: str | None = None


class PaymentError(Body):
    code: str
    reason: str


class PaymentTransaction(Body):
    id: str
    type: str
    """The payment provider (``sandbox``)."""
    status: str
    """``pending``, ``success`` or ``failed``."""
    created_timestamp: int
    updated_timestamp: int
    amount: Amount
    currency: str
    method: str | None = None
    """``card`` and the card's last four digits (``card:4242``)."""
    error: PaymentError | None = None


class PaymentRefund(Body):
    id: str
    amount: Amount
    currency: str
    status: str
    """``succeeded``."""
    created_timestamp: int


class Payment(Body):
    """``statuses[0].payment`` when ``statuses[0].type`` is ``payment``."""

    reference_id: str
    """The order id."""
    amount: Amount
    currency: str
    transaction: PaymentTransaction
    refunds: list[PaymentRefund] | None = None
