"""Pricing a cart from the catalog (domain/commerce): the customer's lines give only retailer ids
and quantities; prices, the total and the currency come from the products; money stays integer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from passerelle.domain.commerce.catalog import Availability, Product, check_product
from passerelle.domain.commerce.money import Money
from passerelle.domain.commerce.orders import CartLine, OrderStatus, check_transition, price_cart
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.domain.ids import Timestamp


def product(
    retailer_id: str, price: int, *, stock: int = 5, currency: str = "EUR", out: bool = False
) -> Product:
    fields = check_product(
        retailer_id=retailer_id,
        name=retailer_id,
        description="",
        price=price,
        currency=currency,
        images=(),
        stock=stock,
        availability=Availability.OUT_OF_STOCK.value if out else "In Stock",
    )
    return Product(
        id="1" * 15, catalog="2" * 15, fields=fields, created_at=Timestamp(0), updated_at=Timestamp(0)
    )


CATALOG = {
    p.retailer_id: p
    for p in [product("bike", 1250), product("bell", 300), product("yen", 500, currency="JPY")]
}


def test_the_total_comes_from_the_catalog_and_lines_merge() -> None:
    cart = price_cart([CartLine("bike", 1), CartLine("bell", 1), CartLine("bell", 1)], CATALOG)
    assert cart.total == Money(1850, "EUR")
    assert [(x.retailer_id, x.quantity, x.unit_price) for x in cart.lines] == [
        ("bike", 1, 1250),
        ("bell", 2, 300),
    ]
    assert cart.total.decimal() == Decimal("18.50") and cart.total.offset == 100
    assert Money(500, "JPY").decimal() == Decimal(500) and Money(500, "JPY").offset == 1


def test_bad_carts() -> None:
    with pytest.raises(NotFound):
        price_cart([CartLine("saddle", 1)], CATALOG)
    with pytest.raises(Conflict):
        price_cart([CartLine("bike", 6)], CATALOG)
    with pytest.raises(Conflict):
        price_cart([CartLine("lamp", 1)], {"lamp": product("lamp", 10, out=True)})
    with pytest.raises(InvalidInput):
        price_cart([CartLine("bike", 1), CartLine("yen", 1)], CATALOG)
    for quantity in (0, -1, 1001):
        with pytest.raises(InvalidInput):
            price_cart([CartLine("bike", quantity)], CATALOG)
    with pytest.raises(InvalidInput):
        price_cart([], CATALOG)


def test_products_are_checked() -> None:
    with pytest.raises(InvalidInput):
        product("bike", -1)
    with pytest.raises(InvalidInput):
        product("bike", 10, currency="XYZ")
    with pytest.raises(InvalidInput):
        product("bad id!", 10)
    with pytest.raises(InvalidInput):
        check_product(
            retailer_id="x",
            name="x",
            description="",
            price=1,
            currency="EUR",
            images=("ftp://x",),
            stock=1,
            availability="in stock",
        )


def test_statuses_move_forward_only() -> None:
    check_transition(OrderStatus.PENDING, OrderStatus.PROCESSING)
    check_transition(OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    for current, new in [
        (OrderStatus.SHIPPED, OrderStatus.PENDING),
        (OrderStatus.CANCELLED, OrderStatus.PROCESSING),
        (OrderStatus.DELIVERED, OrderStatus.CANCELLED),
    ]:
        with pytest.raises(Conflict):
            check_transition(current, new)
