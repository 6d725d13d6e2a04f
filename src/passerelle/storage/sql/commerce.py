"""Commerce on SQL (migration ``commerce``): transaction functions (see ``storage.sql.txn``) and
``SqlCommerceStore``, the ``CommerceStore`` port on either engine."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.commerce.catalog import Availability, Product, ProductFields
from passerelle.domain.commerce.money import Money
from passerelle.domain.commerce.orders import CartLine, OrderLine, OrderStatus
from passerelle.domain.commerce.payments import TAKES_THE_ORDER, PaymentStatus
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.commerce.ports import (
    CatalogRecord,
    CommerceStore,
    OrderRecord,
    PaymentAdded,
    PaymentRecord,
    Placed,
)
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

_CATALOG = "id, business, name, created_at"
COUNT_CATALOGS = "SELECT COUNT(*) FROM commerce_catalogs WHERE business = ?"
ADD_CATALOG = f"INSERT INTO commerce_catalogs ({_CATALOG}) VALUES (?, ?, ?, ?)"
GET_CATALOG = f"SELECT {_CATALOG} FROM commerce_catalogs WHERE id = ?"
CATALOGS_OF = f"SELECT {_CATALOG} FROM commerce_catalogs WHERE business = ? ORDER BY created_at, id"
_PRODUCT = (
    "id, catalog, retailer_id, name, description, price, currency, images, stock, availability, "
    "created_at, updated_at"
)
COUNT_PRODUCTS = "SELECT COUNT(*) FROM commerce_products WHERE catalog = ?"
PRODUCT_BY_RETAILER = f"SELECT {_PRODUCT} FROM commerce_products WHERE catalog = ? AND retailer_id = ?"
ADD_PRODUCT = f"INSERT INTO commerce_products ({_PRODUCT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
CHANGE_PRODUCT = (
    "UPDATE commerce_products SET name = ?, description = ?, price = ?, currency = ?, images = ?, "
    "stock = ?, availability = ?, updated_at = ? WHERE catalog = ? AND retailer_id = ?"
)
PRODUCTS = f"SELECT {_PRODUCT} FROM commerce_products WHERE catalog = ? AND retailer_id > ? ORDER BY retailer_id LIMIT ?"
DELETE_PRODUCT = "DELETE FROM commerce_products WHERE catalog = ? AND retailer_id = ?"
TAKE_STOCK = (
    "UPDATE commerce_products SET stock = stock - ? WHERE catalog = ? AND retailer_id = ? AND stock >= ?"
)
GIVE_STOCK = "UPDATE commerce_products SET stock = stock + ? WHERE catalog = ? AND retailer_id = ?"
_ORDER = "id, business, catalog, account, lines, total, currency, status, created_at, updated_at"
COUNT_ORDERS = "SELECT COUNT(*) FROM commerce_orders WHERE business = ? AND account = ?"
COUNT_OPEN_ORDERS = (
    "SELECT COUNT(*) FROM commerce_orders WHERE business = ? AND account = ? AND status = 'pending'"
)
ADD_ORDER = f"INSERT INTO commerce_orders ({_ORDER}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
GET_ORDER = f"SELECT {_ORDER} FROM commerce_orders WHERE id = ?"
ORDERS_OF = (
    f"SELECT {_ORDER} FROM commerce_orders WHERE business = ? AND account = ? "
    "ORDER BY created_at DESC, id DESC LIMIT ?"
)
UNPAID = (
    f"SELECT {_ORDER} FROM commerce_orders o WHERE status = 'pending' AND created_at < ? AND NOT EXISTS "
    "(SELECT 1 FROM commerce_payments p WHERE p.order_id = o.id AND (p.status IN ('succeeded', 'refunded') "
    "OR (p.status = 'pending' AND p.updated_at >= ?))) ORDER BY created_at LIMIT ?"
)
ORDERS_OF_ACCOUNT = f"SELECT {_ORDER} FROM commerce_orders WHERE account = ? ORDER BY created_at, id"
SET_STATUS = "UPDATE commerce_orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?"
_PAYMENT = (
    "id, order_id, idempotency_key, amount, currency, status, provider, provider_ref, method, error, "
    "created_at, updated_at"
)
PAYMENT_BY_KEY = f"SELECT {_PAYMENT} FROM commerce_payments WHERE order_id = ? AND idempotency_key = ?"
_TAKING = ", ".join(f"'{s.value}'" for s in sorted(TAKES_THE_ORDER, key=lambda s: s.value))
PAYMENT_TAKING = f"SELECT {_PAYMENT} FROM commerce_payments WHERE order_id = ? AND status IN ({_TAKING})"
COUNT_PAYMENTS = "SELECT COUNT(*) FROM commerce_payments WHERE order_id = ?"
ADD_PAYMENT = (
    f"INSERT INTO commerce_payments ({_PAYMENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
GET_PAYMENT = f"SELECT {_PAYMENT} FROM commerce_payments WHERE id = ?"
PAYMENTS_OF = f"SELECT {_PAYMENT} FROM commerce_payments WHERE order_id = ? ORDER BY created_at, id"
CHANGE_PAYMENT = (
    "UPDATE commerce_payments SET status = ?, provider_ref = ?, method = ?, error = ?, updated_at = ? "
    "WHERE id = ? AND status = ?"
)


def _catalog(row: Row) -> CatalogRecord:
    return CatalogRecord(
        id=str(row[0]), business=BusinessId(str(row[1])), name=str(row[2]), created_at=Timestamp(int(row[3]))
    )


def _product(row: Row) -> Product:
    return Product(
        id=str(row[0]),
        catalog=str(row[1]),
        fields=ProductFields(
            retailer_id=str(row[2]),
            name=str(row[3]),
            description=str(row[4]),
            price=int(row[5]),
            currency=str(row[6]),
            images=tuple(json.loads(str(row[7]))),
            stock=int(row[8]),
            availability=Availability(str(row[9])),
        ),
        created_at=Timestamp(int(row[10])),
        updated_at=Timestamp(int(row[11])),
    )


def lines_json(lines: Sequence[OrderLine]) -> str:
    return json.dumps(
        [
            {"retailer_id": x.retailer_id, "name": x.name, "quantity": x.quantity, "unit_price": x.unit_price}
            for x in lines
        ]
    )


def lines_of(text: str) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(str(x["retailer_id"]), str(x["name"]), int(x["quantity"]), int(x["unit_price"]))
        for x in json.loads(text)
    )


def _order(row: Row) -> OrderRecord:
    return OrderRecord(
        id=str(row[0]),
        business=BusinessId(str(row[1])),
        catalog=str(row[2]),
        account=AccountId(str(row[3])),
        lines=lines_of(str(row[4])),
        total=Money(int(row[5]), str(row[6])),
        status=OrderStatus(str(row[7])),
        created_at=Timestamp(int(row[8])),
        updated_at=Timestamp(int(row[9])),
    )


def _payment(row: Row) -> PaymentRecord:
    return PaymentRecord(
        id=str(row[0]),
        order=str(row[1]),
        idempotency_key=str(row[2]),
        amount=Money(int(row[3]), str(row[4])),
        status=PaymentStatus(str(row[5])),
        provider=str(row[6]),
        provider_ref=str(row[7]),
        method=str(row[8]),
        error=str(row[9]),
        created_at=Timestamp(int(row[10])),
        updated_at=Timestamp(int(row[11])),
    )


def create_catalog_txn(d: Dialect, c: CatalogRecord, cap: int) -> Txn[bool]:
    held = yield from one(COUNT_CATALOGS, c.business)
    if held is not None and int(held[0]) >= cap:
        return False
    yield from count(ADD_CATALOG, c.id, c.business, c.name, c.created_at)
    return True


def get_catalog_txn(d: Dialect, catalog: str) -> Txn[CatalogRecord | None]:
    row = yield from one(GET_CATALOG, catalog)
    return None if row is None else _catalog(row)


def catalogs_of_txn(d: Dialect, business: BusinessId) -> Txn[list[CatalogRecord]]:
    return [_catalog(r) for r in (yield from all_rows(CATALOGS_OF, business))]


def put_product_txn(d: Dialect, p: Product, cap: int) -> Txn[Product | None]:
    f = p.fields
    images = json.dumps(list(f.images))
    row = yield from one(PRODUCT_BY_RETAILER, p.catalog, f.retailer_id)
    if row is not None:
        yield from count(
            CHANGE_PRODUCT,
            f.name,
            f.description,
            f.price,
            f.currency,
            images,
            f.stock,
            f.availability.value,
            p.updated_at,
            p.catalog,
            f.retailer_id,
        )
    else:
        held = yield from one(COUNT_PRODUCTS, p.catalog)
        if held is not None and int(held[0]) >= cap:
            return None
        yield from count(
            ADD_PRODUCT,
            p.id,
            p.catalog,
            f.retailer_id,
            f.name,
            f.description,
            f.price,
            f.currency,
            images,
            f.stock,
            f.availability.value,
            p.created_at,
            p.updated_at,
        )
    stored = yield from one(PRODUCT_BY_RETAILER, p.catalog, f.retailer_id)
    return None if stored is None else _product(stored)


def products_txn(d: Dialect, catalog: str, after: str | None, limit: int) -> Txn[list[Product]]:
    return [_product(r) for r in (yield from all_rows(PRODUCTS, catalog, after or "", limit))]


def products_by_retailer_id_txn(d: Dialect, catalog: str, ids: Sequence[str]) -> Txn[dict[str, Product]]:
    found: dict[str, Product] = {}
    for retailer_id in dict.fromkeys(ids):
        row = yield from one(PRODUCT_BY_RETAILER, catalog, retailer_id)
        if row is not None:
            found[retailer_id] = _product(row)
    return found


def delete_product_txn(d: Dialect, catalog: str, retailer_id: str) -> Txn[bool]:
    return (yield from count(DELETE_PRODUCT, catalog, retailer_id)) > 0


def place_order_txn(
    d: Dialect, o: OrderRecord, reserve: Sequence[CartLine], open_cap: int, cap: int
) -> Txn[Placed]:
    held = yield from one(COUNT_ORDERS, o.business, o.account)
    open_ = yield from one(COUNT_OPEN_ORDERS, o.business, o.account)
    if (held is not None and int(held[0]) >= cap) or (open_ is not None and int(open_[0]) >= open_cap):
        return Placed.TOO_MANY
    taken: list[CartLine] = []
    for line in reserve:
        if (yield from count(TAKE_STOCK, line.quantity, o.catalog, line.retailer_id, line.quantity)) == 0:
            for back in taken:  # all or none, in this one transaction
                yield from count(GIVE_STOCK, back.quantity, o.catalog, back.retailer_id)
            return Placed.NO_STOCK
        taken.append(line)
    yield from count(
        ADD_ORDER,
        o.id,
        o.business,
        o.catalog,
        o.account,
        lines_json(o.lines),
        o.total.minor,
        o.total.currency,
        o.status.value,
        o.created_at,
        o.updated_at,
    )
    return Placed.PLACED


def get_order_txn(d: Dialect, order: str) -> Txn[OrderRecord | None]:
    row = yield from one(GET_ORDER, order)
    return None if row is None else _order(row)


def orders_of_txn(d: Dialect, business: BusinessId, account: AccountId, limit: int) -> Txn[list[OrderRecord]]:
    return [_order(r) for r in (yield from all_rows(ORDERS_OF, business, account, limit))]


def orders_of_account_txn(d: Dialect, account: AccountId) -> Txn[list[OrderRecord]]:
    return [_order(r) for r in (yield from all_rows(ORDERS_OF_ACCOUNT, account))]


def set_order_status_txn(
    d: Dialect, order: str, expected: OrderStatus, status: OrderStatus, at: Timestamp, release: bool
) -> Txn[bool]:
    if (yield from count(SET_STATUS, status.value, at, order, expected.value)) == 0:
        return False
    if release:
        row = yield from one(GET_ORDER, order)
        if row is not None:
            record = _order(row)
            for line in record.lines:
                yield from count(GIVE_STOCK, line.quantity, record.catalog, line.retailer_id)
    return True


def unpaid_orders_txn(d: Dialect, before: Timestamp, limit: int) -> Txn[list[OrderRecord]]:
    return [_order(r) for r in (yield from all_rows(UNPAID, before, before, limit))]


def add_payment_txn(d: Dialect, p: PaymentRecord, cap: int) -> Txn[PaymentAdded | None]:
    same = yield from one(PAYMENT_BY_KEY, p.order, p.idempotency_key)
    if same is not None:
        return PaymentAdded(_payment(same), created=False)
    taking = yield from one(PAYMENT_TAKING, p.order)
    if taking is not None:
        return PaymentAdded(_payment(taking), created=False)
    held = yield from one(COUNT_PAYMENTS, p.order)
    if held is not None and int(held[0]) >= cap:
        return None
    added = yield from count(
        ADD_PAYMENT,
        p.id,
        p.order,
        p.idempotency_key,
        p.amount.minor,
        p.amount.currency,
        p.status.value,
        p.provider,
        p.provider_ref,
        p.method,
        p.error,
        p.created_at,
        p.updated_at,
    )
    if added == 0:  # a concurrent payment took the order or the key first
        row = (yield from one(PAYMENT_BY_KEY, p.order, p.idempotency_key)) or (
            yield from one(PAYMENT_TAKING, p.order)
        )
        if row is None:
            return None
        return PaymentAdded(_payment(row), created=False)
    return PaymentAdded(p, created=True)


def get_payment_txn(d: Dialect, payment: str) -> Txn[PaymentRecord | None]:
    row = yield from one(GET_PAYMENT, payment)
    return None if row is None else _payment(row)


def payments_of_txn(d: Dialect, order: str) -> Txn[list[PaymentRecord]]:
    return [_payment(r) for r in (yield from all_rows(PAYMENTS_OF, order))]


def change_payment_txn(d: Dialect, p: PaymentRecord, expected: PaymentStatus) -> Txn[bool]:
    changed = yield from count(
        CHANGE_PAYMENT, p.status.value, p.provider_ref, p.method, p.error, p.updated_at, p.id, expected.value
    )
    return changed > 0


class SqlCommerceStore:
    """``CommerceStore`` on the engine of a ``SqliteStore`` or a ``PostgresStore``."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def create_catalog(self, catalog: CatalogRecord, *, cap: int) -> bool:
        return await self._engine.write(create_catalog_txn, catalog, cap)

    async def get_catalog(self, catalog: str) -> CatalogRecord | None:
        return await self._engine.read(get_catalog_txn, catalog)

    async def catalogs_of(self, business: BusinessId) -> list[CatalogRecord]:
        return await self._engine.read(catalogs_of_txn, business)

    async def put_product(self, product: Product, *, cap: int) -> Product | None:
        return await self._engine.write(put_product_txn, product, cap)

    async def products(self, catalog: str, *, after: str | None, limit: int) -> list[Product]:
        return await self._engine.read(products_txn, catalog, after, limit)

    async def products_by_retailer_id(self, catalog: str, retailer_ids: Sequence[str]) -> dict[str, Product]:
        return await self._engine.read(products_by_retailer_id_txn, catalog, retailer_ids)

    async def delete_product(self, catalog: str, retailer_id: str) -> bool:
        return await self._engine.write(delete_product_txn, catalog, retailer_id)

    async def place_order(
        self, order: OrderRecord, reserve: Sequence[CartLine], *, open_cap: int, cap: int
    ) -> Placed:
        return await self._engine.write(place_order_txn, order, reserve, open_cap, cap)

    async def get_order(self, order: str) -> OrderRecord | None:
        return await self._engine.read(get_order_txn, order)

    async def orders_of(self, business: BusinessId, account: AccountId, *, limit: int) -> list[OrderRecord]:
        return await self._engine.read(orders_of_txn, business, account, limit)

    async def orders_of_account(self, account: AccountId) -> list[OrderRecord]:
        return await self._engine.read(orders_of_account_txn, account)

    async def set_order_status(
        self, order: str, *, expected: OrderStatus, status: OrderStatus, at: Timestamp, release: bool
    ) -> bool:
        return await self._engine.write(set_order_status_txn, order, expected, status, at, release)

    async def unpaid_orders(self, *, before: Timestamp, limit: int) -> list[OrderRecord]:
        return await self._engine.read(unpaid_orders_txn, before, limit)

    async def add_payment(self, payment: PaymentRecord, *, cap: int) -> PaymentAdded | None:
        return await self._engine.write(add_payment_txn, payment, cap)

    async def get_payment(self, payment: str) -> PaymentRecord | None:
        return await self._engine.read(get_payment_txn, payment)

    async def payments_of(self, order: str) -> list[PaymentRecord]:
        return await self._engine.read(payments_of_txn, order)

    async def change_payment(self, payment: PaymentRecord, *, expected: PaymentStatus) -> bool:
        return await self._engine.write(change_payment_txn, payment, expected)


_: type[CommerceStore] = SqlCommerceStore
