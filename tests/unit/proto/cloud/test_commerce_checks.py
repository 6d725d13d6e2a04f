"""The commerce interactive messages a bot sends, checked as the Cloud API does (100 naming the
field), and their text fallback."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from passerelle.proto.cloud.checks import check_message_request
from passerelle.proto.cloud.commerce_checks import retailer_ids
from passerelle.proto.cloud.commerce_content import render_commerce
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import MessageRequest


def request(kind: str, **member: Any) -> MessageRequest:
    body = {
        "messaging_product": "whatsapp",
        "to": "1",
        "type": "interactive",
        "interactive": {"type": kind, **member},
    }
    return msgspec.convert(body, MessageRequest)


def sections(counts: list[int]) -> list[dict[str, Any]]:
    return [
        {"title": f"S{s}", "product_items": [{"product_retailer_id": f"p{s}-{i}"} for i in range(n)]}
        for s, n in enumerate(counts)
    ]


def test_valid_commerce_messages() -> None:
    product = request("product", action={"catalog_id": "9", "product_retailer_id": "bike"})
    assert check_message_request(product).kind == "interactive"  # type: ignore[union-attr]
    listed = request(
        "product_list",
        header={"type": "text", "text": "H"},
        body={"text": "B"},
        action={"catalog_id": "9", "sections": sections([10, 10, 10])},
    )
    check_message_request(listed)
    assert listed.interactive is not None and len(retailer_ids(listed.interactive)) == 30


@pytest.mark.parametrize(
    ("kind", "member", "field"),
    [
        ("product", {"action": {"product_retailer_id": "x"}}, "interactive.action.catalog_id"),
        ("product", {"action": {"catalog_id": "9"}}, "interactive.action.product_retailer_id"),
        (
            "product_list",
            {"body": {"text": "B"}, "action": {"catalog_id": "9", "sections": sections([1])}},
            "interactive.header",
        ),
        (
            "product_list",
            {
                "header": {"type": "text", "text": "H"},
                "body": {"text": "B"},
                "action": {"catalog_id": "9", "sections": sections([10, 10, 10, 1])},
            },
            "interactive.action.sections",
        ),
        ("catalog_message", {"body": {"text": "B"}, "action": {"name": "other"}}, "interactive.action.name"),
        (
            "order_details",
            {"body": {"text": "B"}, "action": {"name": "review_and_pay", "parameters": {}}},
            "interactive.action.parameters.reference_id",
        ),
        (
            "order_status",
            {
                "body": {"text": "B"},
                "action": {
                    "name": "review_order",
                    "parameters": {"reference_id": "1", "order": {"status": "teleported"}},
                },
            },
            "interactive.action.parameters.order.status",
        ),
    ],
)
def test_bad_commerce_messages_name_the_field(kind: str, member: dict[str, Any], field: str) -> None:
    with pytest.raises(CloudBodyError) as caught:
        check_message_request(request(kind, **member))
    assert caught.value.field == field


def test_the_fallback_says_names_and_prices() -> None:
    listed = request(
        "product_list",
        header={"type": "text", "text": "Shop"},
        body={"text": "Pick"},
        action={
            "catalog_id": "9",
            "sections": [{"title": "Bikes", "product_items": [{"product_retailer_id": "b"}]}],
        },
    )
    assert listed.interactive is not None
    products = [{"retailer_id": "b", "name": "Bike", "price": 1250, "currency": "EUR", "available": False}]
    text = render_commerce(listed.interactive, products, {"EUR": 2})
    assert text.splitlines() == ["Shop", "Pick", "Bikes", "🛍 Bike — 12.50 EUR (out of stock)"]
