"""``MemoryCommerceStore``: the ``CommerceStore`` port on a ``MemoryStore``'s database (tests and
trials), with its tables (the counterpart of migration ``commerce``). Each method is one atomic
transaction: one yield, then no await."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.commerce.catalog import Product
from passerelle.domain.commerce.orders import CartLine, OrderStatus
from passerelle.domain.commerce.payments import TAKES_THE_ORDER, PaymentStatus
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.commerce.ports import (
    CatalogRecord,
    CommerceStore,
    OrderRecord,
    PaymentAdded,
    PaymentRecord,
    Placed,
)
from passerelle.storage.memory.commerce_tables import CommerceTables
from passerelle.storage.memory.store import MemoryStore


class MemoryCommerceStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> CommerceTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.commerce

    async def create_catalog(self, catalog: CatalogRecord, *, cap: int) -> bool:
        t = await self._begin()
        if sum(1 for c in t.catalogs.values() if c.business == catalog.business) >= cap:
            return False
        t.catalogs[catalog.id] = catalog
        return True

    async def get_catalog(self, catalog: str) -> CatalogRecord | None:
        t = await self._begin()
        found = t.catalogs.get(catalog)
        if found is not None and found.business not in self._store.database.business.businesses:
            return None
        return found

    async def catalogs_of(self, business: BusinessId) -> list[CatalogRecord]:
        t = await self._begin()
        return sorted(
            (c for c in t.catalogs.values() if c.business == business), key=lambda c: (c.created_at, c.id)
        )

    async def put_product(self, product: Product, *, cap: int) -> Product | None:
        t = await self._begin()
        key = (product.catalog, product.retailer_id)
        held = t.products.get(key)
        if held is not None:
            product = dataclasses.replace(product, id=held.id, created_at=held.created_at)
        elif sum(1 for c, _ in t.products if c == product.catalog) >= cap:
            return None
        t.products[key] = product
        return product

    async def products(self, catalog: str, *, after: str | None, limit: int) -> list[Product]:
        t = await self._begin()
        found = sorted(
            (p for (c, r), p in t.products.items() if c == catalog and r > (after or "")),
            key=lambda p: p.retailer_id,
        )
        return found[:limit]

    async def products_by_retailer_id(self, catalog: str, retailer_ids: Sequence[str]) -> dict[str, Product]:
        t = await self._begin()
        return {r: t.products[(catalog, r)] for r in retailer_ids if (catalog, r) in t.products}

    async def delete_product(self, catalog: str, retailer_id: str) -> bool:
        t = await self._begin()
        return t.products.pop((catalog, retailer_id), None) is not None

    async def place_order(
        self, order: OrderRecord, reserve: Sequence[CartLine], *, open_cap: int, cap: int
    ) -> Placed:
        t = await self._begin()
        mine = [o for o in t.orders.values() if o.business == order.business and o.account == order.account]
        if len(mine) >= cap or sum(1 for o in mine if o.status is OrderStatus.PENDING) >= open_cap:
            return Placed.TOO_MANY
        for line in reserve:
            held = t.products.get((order.catalog, line.retailer_id))
            if held is None or held.fields.stock < line.quantity:
                return Placed.NO_STOCK
        for line in reserve:
            self._give(t, order.catalog, line.retailer_id, -line.quantity)
        t.orders[order.id] = order
        return Placed.PLACED

    @staticmethod
    def _give(t: CommerceTables, catalog: str, retailer_id: str, quantity: int) -> None:
        held = t.products.get((catalog, retailer_id))
        if held is not None:
            fields = dataclasses.replace(held.fields, stock=held.fields.stock + quantity)
            t.products[(catalog, retailer_id)] = dataclasses.replace(held, fields=fields)

    async def get_order(self, order: str) -> OrderRecord | None:
        return (await self._begin()).orders.get(order)

    async def orders_of(self, business: BusinessId, account: AccountId, *, limit: int) -> list[OrderRecord]:
        t = await self._begin()
        mine = [o for o in t.orders.values() if o.business == business and o.account == account]
        return sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True)[:limit]

    async def orders_of_account(self, account: AccountId) -> list[OrderRecord]:
        t = await self._begin()
        return sorted(
            (o for o in t.orders.values() if o.account == account), key=lambda o: (o.created_at, o.id)
        )

    async def set_order_status(
        self, order: str, *, expected: OrderStatus, status: OrderStatus, at: Timestamp, release: bool
    ) -> bool:
        t = await self._begin()
        held = t.orders.get(order)
        if held is None or held.status is not expected:
            return False
        t.orders[order] = dataclasses.replace(held, status=status, updated_at=at)
        if release:
            for line in held.lines:
                self._give(t, held.catalog, line.retailer_id, line.quantity)
        return True

    async def unpaid_orders(self, *, before: Timestamp, limit: int) -> list[OrderRecord]:
        t = await self._begin()
        taken = {
            p.order
            for p in t.payments.values()
            if p.status in TAKES_THE_ORDER
            and (p.status is not PaymentStatus.PENDING or p.updated_at >= before)
        }
        found = [
            o
            for o in t.orders.values()
            if o.status is OrderStatus.PENDING and o.created_at < before and o.id not in taken
        ]
        return sorted(found, key=lambda o: (o.created_at, o.id))[:limit]

    async def add_payment(self, payment: PaymentRecord, *, cap: int) -> PaymentAdded | None:
        t = await self._begin()
        of_order = [p for p in t.payments.values() if p.order == payment.order]
        for p in of_order:
            if p.idempotency_key == payment.idempotency_key:
                return PaymentAdded(p, created=False)
        for p in of_order:
            if p.status in TAKES_THE_ORDER:
                return PaymentAdded(p, created=False)
        if len(of_order) >= cap:
            return None
        t.payments[payment.id] = payment
        return PaymentAdded(payment, created=True)

    async def get_payment(self, payment: str) -> PaymentRecord | None:
        return (await self._begin()).payments.get(payment)

    async def payments_of(self, order: str) -> list[PaymentRecord]:
        t = await self._begin()
        return sorted(
            (p for p in t.payments.values() if p.order == order), key=lambda p: (p.created_at, p.id)
        )

    async def change_payment(self, payment: PaymentRecord, *, expected: PaymentStatus) -> bool:
        t = await self._begin()
        held = t.payments.get(payment.id)
        if held is None or held.status is not expected:
            return False
        t.payments[payment.id] = dataclasses.replace(
            held,
            status=payment.status,
            provider_ref=payment.provider_ref,
            method=payment.method,
            error=payment.error,
            updated_at=payment.updated_at,
        )
        return True


_: type[CommerceStore] = MemoryCommerceStore
