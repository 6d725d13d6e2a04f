"""The commerce shapes the bot meets (proto/cloud/commerce.py, docs/commerce.md): the inbound
``order`` message and the payment status, as bytes a Cloud API bot reads; the outbound
``product`` / ``product_list`` / ``catalog_message`` / ``order_details`` / ``order_status`` bodies as
pywa 4.5 writes them."""

from __future__ import annotations

import json
from decimal import Decimal

from pywa.types.others import Order

from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.commerce import (
    InboundOrder,
    OrderProductItem,
    Payment,
    PaymentTransaction,
)
from passerelle.proto.cloud.messages import Amount, MessageRequest
from passerelle.proto.cloud.webhooks import InboundMessage, Status


def test_an_order_webhook_writes_prices_as_numbers_and_pywa_reads_it() -> None:
    message = InboundMessage(
        from_="123456789012345",
        id="wamid.P1",
        timestamp="1700000000",
        type="order",
        order=InboundOrder(
            catalog_id="100000000000001",
            text="for Saturday",
            product_items=[
                OrderProductItem(
                    product_retailer_id="bike-1",
                    quantity=2,
                    item_price=Decimal("12.50"),
                    currency="EUR",
                )
            ],
            order_id="or_1",
            total_amount=Amount(value=2500, offset=100),
            currency="EUR",
        ),
    )
    raw = encode(message)
    assert b'"item_price":12.50' in raw
    assert b'"total_amount":{"value":2500,"offset":100}' in raw
    order = Order.from_dict(json.loads(raw)["order"])
    assert order.catalog_id == "100000000000001"
    assert order.products[0].sku == "bike-1" and order.products[0].quantity == 2
    back = decode(raw, InboundMessage)
    assert back.order is not None and back.order.product_items[0].item_price == Decimal("12.50")


def test_a_payment_status_carries_the_payment() -> None:
    status = Status(
        id="pay_1",
        status="succeeded",
        timestamp="1700000000",
        recipient_id="123456789012345",
        type="payment",
        payment=Payment(
            reference_id="or_1",
            amount=Amount(value=2500, offset=100),
            currency="EUR",
            transaction=PaymentTransaction(
                id="pay_1",
                type="sandbox",
                status="success",
                created_timestamp=1,
                updated_timestamp=2,
                amount=Amount(value=2500, offset=100),
                currency="EUR",
                method="card:4242",
            ),
        ),
    )
    back = decode(encode(status), Status)
    assert back == status


def test_the_outbound_commerce_bodies_decode() -> None:
    product = (
        b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"interactive",'
        b'"to":"1","interactive":{"type":"product","action":{"catalog_id":"9","product_retailer_id":"s"},'
        b'"body":{"text":"Look"}}}'
    )
    req = decode(product, MessageRequest)
    assert req.interactive is not None and req.interactive.action is not None
    assert req.interactive.action.product_retailer_id == "s"
    products = (
        b'{"messaging_product":"whatsapp","type":"interactive","to":"1","interactive":{"type":'
        b'"product_list","header":{"type":"text","text":"H"},"body":{"text":"B"},"action":{"catalog_id"'
        b':"9","sections":[{"title":"S","product_items":[{"product_retailer_id":"a"},'
        b'{"product_retailer_id":"b"}]}]}}}'
    )
    req = decode(products, MessageRequest)
    assert req.interactive is not None and req.interactive.action is not None
    sections = req.interactive.action.sections or []
    assert [p.product_retailer_id for p in sections[0].product_items or []] == ["a", "b"]
    pay = (
        b'{"messaging_product":"whatsapp","type":"interactive","to":"1","interactive":{"type":'
        b'"order_details","body":{"text":"Pay"},"action":{"name":"review_and_pay","parameters":'
        b'{"reference_id":"or_1","type":"physical-goods","currency":"EUR","total_amount":'
        b'{"value":2500,"offset":100},"order":{"status":"pending","items":[{"retailer_id":"a",'
        b'"name":"A","amount":{"value":1250,"offset":100},"quantity":2}],"subtotal":'
        b'{"value":2500,"offset":100}}}}}}'
    )
    req = decode(pay, MessageRequest)
    assert req.interactive is not None and req.interactive.action is not None
    params = req.interactive.action.parameters
    assert params is not None and params.total_amount == Amount(value=2500, offset=100)
