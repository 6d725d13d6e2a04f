"""The CommerceStore (docs/commerce.md), on every adapter: catalogs bounded per business; products
unique by retailer id per catalog (a second put changes the first), bounded, listed with a cursor;
an order reserves its stock all or none, orders bounded per customer; a status moves only from the
one the caller saw and a cancellation gives the stock back; a payment is found again by its
idempotency key and at most one payment takes an order."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.commerce.catalog import Availability, Product, ProductFields
from passerelle.domain.commerce.money import Money
from passerelle.domain.commerce.orders import CartLine, OrderLine, OrderStatus
from passerelle.domain.commerce.payments import PaymentStatus
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.commerce.ports import (
    CatalogRecord,
    CommerceStore,
    OrderRecord,
    PaymentRecord,
    Placed,
)
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for, commerce_store_for
from tests.contract.conftest import START, new_person
from tests.contract.test_store_business import business, digits


@pytest.fixture
def shop(store: Store) -> CommerceStore:
    return commerce_store_for(store)


@pytest.fixture
def biz(store: Store) -> BusinessStore:
    return business_store_for(store)


def product(catalog: str, retailer_id: str, *, price: int = 1250, stock: int = 5) -> Product:
    return Product(
        id=digits(),
        catalog=catalog,
        fields=ProductFields(
            retailer_id=retailer_id,
            name=retailer_id.title(),
            description="",
            price=price,
            currency="EUR",
            images=("media:123",),
            stock=stock,
            availability=Availability.IN_STOCK,
        ),
        created_at=Timestamp(START),
        updated_at=Timestamp(START),
    )


async def a_catalog(biz: BusinessStore, shop: CommerceStore) -> CatalogRecord:
    owner = business(f"shop-{secrets.token_hex(3)}")
    assert await biz.create_business(owner)
    catalog = CatalogRecord(id=digits(), business=owner.id, name="Bikes", created_at=Timestamp(START))
    assert await shop.create_catalog(catalog, cap=10)
    return catalog


def order(
    catalog: CatalogRecord, account: AccountId, lines: list[OrderLine], *, at: int = START
) -> OrderRecord:
    return OrderRecord(
        id=digits(),
        business=catalog.business,
        catalog=catalog.id,
        account=account,
        lines=tuple(lines),
        total=Money(sum(x.amount for x in lines), "EUR"),
        status=OrderStatus.PENDING,
        created_at=Timestamp(at),
        updated_at=Timestamp(at),
    )


def payment(order_id: str, key: str, status: PaymentStatus = PaymentStatus.PENDING) -> PaymentRecord:
    return PaymentRecord(
        id=digits(),
        order=order_id,
        idempotency_key=key,
        amount=Money(2500, "EUR"),
        status=status,
        provider="sandbox",
        provider_ref="",
        method="",
        error="",
        created_at=Timestamp(START),
        updated_at=Timestamp(START),
    )


async def test_catalogs_and_products(biz: BusinessStore, shop: CommerceStore) -> None:
    catalog = await a_catalog(biz, shop)
    assert await shop.get_catalog(catalog.id) == catalog
    assert await shop.catalogs_of(catalog.business) == [catalog]
    second = dataclasses.replace(catalog, id=digits(), name="Parts")
    assert not await shop.create_catalog(second, cap=1)  # the business's cap
    assert await shop.get_catalog(digits()) is None
    first = await shop.put_product(product(catalog.id, "bike-1"), cap=2)
    assert first is not None and first.fields.images == ("media:123",)
    changed = await shop.put_product(product(catalog.id, "bike-1", price=990, stock=1), cap=2)
    assert changed is not None and changed.id == first.id and changed.fields.price == 990
    assert await shop.put_product(product(catalog.id, "bell"), cap=2) is not None
    assert await shop.put_product(product(catalog.id, "lamp"), cap=2) is None  # full
    assert [p.retailer_id for p in await shop.products(catalog.id, after=None, limit=10)] == [
        "bell",
        "bike-1",
    ]
    assert [p.retailer_id for p in await shop.products(catalog.id, after="bell", limit=10)] == ["bike-1"]
    found = await shop.products_by_retailer_id(catalog.id, ["bike-1", "nope"])
    assert list(found) == ["bike-1"] and found["bike-1"].fields.stock == 1
    assert await shop.delete_product(catalog.id, "bell")
    assert not await shop.delete_product(catalog.id, "bell")


async def test_an_order_reserves_stock_all_or_none(
    store: Store, biz: BusinessStore, shop: CommerceStore
) -> None:
    catalog = await a_catalog(biz, shop)
    alice = (await new_person(store)).account.id
    await shop.put_product(product(catalog.id, "bike", stock=2), cap=10)
    await shop.put_product(product(catalog.id, "bell", stock=1), cap=10)
    lines = [OrderLine("bike", "Bike", 2, 1250), OrderLine("bell", "Bell", 2, 1250)]
    too_many_bells = order(catalog, alice, lines)
    reserve = [CartLine("bike", 2), CartLine("bell", 2)]
    assert await shop.place_order(too_many_bells, reserve, open_cap=5, cap=10) is Placed.NO_STOCK
    stock = await shop.products_by_retailer_id(catalog.id, ["bike", "bell"])
    assert stock["bike"].fields.stock == 2 and stock["bell"].fields.stock == 1  # nothing taken
    assert await shop.get_order(too_many_bells.id) is None
    first = order(catalog, alice, [OrderLine("bike", "Bike", 1, 1250)])
    assert await shop.place_order(first, [CartLine("bike", 1)], open_cap=2, cap=10) is Placed.PLACED
    second = order(catalog, alice, [OrderLine("bike", "Bike", 1, 1250)], at=START + 1)
    assert await shop.place_order(second, [CartLine("bike", 1)], open_cap=2, cap=10) is Placed.PLACED
    assert (await shop.products_by_retailer_id(catalog.id, ["bike"]))["bike"].fields.stock == 0
    third = order(catalog, alice, [OrderLine("bell", "Bell", 1, 1250)], at=START + 2)
    assert await shop.place_order(third, [CartLine("bell", 1)], open_cap=2, cap=10) is Placed.TOO_MANY
    assert [o.id for o in await shop.orders_of(catalog.business, alice, limit=10)] == [second.id, first.id]
    assert await shop.get_order(first.id) == first
    # a status moves only from the one seen; cancelling gives the stock back
    at = Timestamp(START + 5)
    assert not await shop.set_order_status(
        first.id, expected=OrderStatus.PROCESSING, status=OrderStatus.SHIPPED, at=at, release=False
    )
    assert await shop.set_order_status(
        first.id, expected=OrderStatus.PENDING, status=OrderStatus.CANCELLED, at=at, release=True
    )
    held = await shop.get_order(first.id)
    assert held is not None and held.status is OrderStatus.CANCELLED and held.updated_at == at
    assert (await shop.products_by_retailer_id(catalog.id, ["bike"]))["bike"].fields.stock == 1
    assert await shop.orders_of(BusinessId("bz_other"), alice, limit=10) == []
    assert [o.id for o in await shop.orders_of_account(alice)] == [first.id, second.id]
    unpaid = await shop.unpaid_orders(before=Timestamp(START + 2), limit=10)
    assert [o.id for o in unpaid] == [second.id]  # the first is cancelled; none after START + 2
    under_way = dataclasses.replace(payment(second.id, "key-second"), updated_at=Timestamp(START + 5))
    assert await shop.add_payment(under_way, cap=3) is not None
    assert await shop.unpaid_orders(before=Timestamp(START + 2), limit=10) == []  # a payment under way
    stale = await shop.unpaid_orders(before=Timestamp(START + 6), limit=10)  # ... for too long now
    assert [o.id for o in stale] == [second.id]


async def test_one_payment_takes_an_order(store: Store, biz: BusinessStore, shop: CommerceStore) -> None:
    catalog = await a_catalog(biz, shop)
    alice = (await new_person(store)).account.id
    await shop.put_product(product(catalog.id, "bike"), cap=10)
    placed = order(catalog, alice, [OrderLine("bike", "Bike", 2, 1250)])
    assert await shop.place_order(placed, [CartLine("bike", 2)], open_cap=5, cap=10) is Placed.PLACED
    declined = payment(placed.id, "key-declined", PaymentStatus.FAILED)
    added = await shop.add_payment(declined, cap=3)
    assert added is not None and added.created
    assert await shop.add_payment(payment(placed.id, "key-capped-1"), cap=1) is None  # attempts capped
    first = payment(placed.id, "key-first-1")
    added = await shop.add_payment(first, cap=3)
    assert added is not None and added.created
    again = await shop.add_payment(payment(placed.id, "key-first-1"), cap=3)  # a retried request
    assert again is not None and not again.created and again.payment.id == first.id
    other = await shop.add_payment(payment(placed.id, "key-other-2"), cap=3)  # a second payment
    assert other is not None and not other.created and other.payment.id == first.id
    succeeded = dataclasses.replace(
        first,
        status=PaymentStatus.SUCCEEDED,
        provider_ref="ch_1",
        method="card:4242",
        updated_at=Timestamp(START + 1),
    )
    assert await shop.change_payment(succeeded, expected=PaymentStatus.PENDING)
    assert not await shop.change_payment(succeeded, expected=PaymentStatus.PENDING)  # already moved
    assert await shop.get_payment(first.id) == succeeded
    assert {p.id for p in await shop.payments_of(placed.id)} == {declined.id, first.id}
    assert await store.erase_account(alice) is not None  # an erased person's orders and payments go
    assert await shop.orders_of_account(alice) == []
    assert await shop.get_payment(first.id) is None
