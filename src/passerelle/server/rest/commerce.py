"""REST endpoints of commerce for people (docs/protocol.md §15.5, docs/commerce.md): a business's
public catalogs and products, placing an order, the caller's orders with a business, paying an
order and completing a pending payment. Bodies are ``proto.rest.commerce`` Structs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.commerce.catalog import Product
from passerelle.domain.commerce.orders import CartLine
from passerelle.domain.ids import AccountId
from passerelle.proto.openapi import Param
from passerelle.proto.rest.commerce import (
    CatalogList,
    CatalogOut,
    NewOrder,
    OrderLineOut,
    OrderList,
    OrderOut,
    PaymentOut,
    PayOrder,
    ProductOut,
    ProductPage,
)
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.commerce.catalogs import PAGE_MAX, SELECTED_MAX, Catalogs
from passerelle.service.commerce.orders import Orders
from passerelle.service.commerce.payments import Payments
from passerelle.service.commerce.ports import OrderRecord, PaymentRecord

TAG = "Commerce"


def product_out(p: Product) -> ProductOut:
    f = p.fields
    return ProductOut(
        product_id=p.id,
        retailer_id=f.retailer_id,
        name=f.name,
        description=f.description,
        price=f.price,
        currency=f.currency,
        images=list(f.images),
        stock=f.stock,
        availability=f.availability.value,
    )


def payment_out(p: PaymentRecord) -> PaymentOut:
    return PaymentOut(
        payment_id=p.id,
        order_id=p.order,
        status=p.status.value,
        amount=p.amount.minor,
        currency=p.amount.currency,
        method=p.method,
        error=p.error,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def order_out(o: OrderRecord, payments: list[PaymentRecord]) -> OrderOut:
    return OrderOut(
        order_id=o.id,
        business_id=o.business,
        catalog_id=o.catalog,
        status=o.status.value,
        currency=o.total.currency,
        total=o.total.minor,
        items=[
            OrderLineOut(
                product_retailer_id=x.retailer_id,
                name=x.name,
                quantity=x.quantity,
                unit_price=x.unit_price,
                amount=x.amount,
            )
            for x in o.lines
        ],
        payments=[payment_out(p) for p in payments],
        created_at=o.created_at,
        updated_at=o.updated_at,
    )


class CommerceRoutes:
    def __init__(
        self, *, accounts: AccountService, catalogs: Catalogs, orders: Orders, payments: Payments
    ) -> None:
        self._accounts = accounts
        self._catalogs = catalogs
        self._orders = orders
        self._payments = payments

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "GET",
                "/v1/businesses/{business}/catalogs",
                self.catalogs,
                answers={200: CatalogList},
                tag=TAG,
                summary="A business's catalogs (public, like its profile)",
            ),
            route(
                "GET",
                "/v1/businesses/{business}/catalogs/{catalog}/products",
                self.products,
                answers={200: ProductPage},
                tag=TAG,
                query={
                    "after": Param(str, description="The retailer id the previous page ended with"),
                    "limit": Param(str, description=f"Products per page, 1 to {PAGE_MAX} (default 50)"),
                    "ids": Param(str, description="Only these retailer ids, comma-separated (at most 30)"),
                },
                summary="A catalog's products, by retailer id",
            ),
            route(
                "POST",
                "/v1/businesses/{business}/orders",
                self.place,
                body=NewOrder,
                answers={201: OrderOut},
                tag=TAG,
                summary="Send an order (a cart) to a business; the total comes from its catalog",
            ),
            route(
                "GET",
                "/v1/businesses/{business}/orders",
                self.mine,
                answers={200: OrderList},
                tag=TAG,
                summary="The caller's orders with a business, newest first",
            ),
            route(
                "POST",
                "/v1/orders/{order}/payments",
                self.pay,
                body=PayOrder,
                answers={200: PaymentOut},
                tag=TAG,
                summary="Pay an order (its total); the same idempotency key answers the same payment",
            ),
            route(
                "POST",
                "/v1/payments/{payment}/confirm",
                self.confirm,
                answers={200: PaymentOut},
                body_required=False,
                tag=TAG,
                summary="Complete a pending payment's step (the provider's authentication)",
            ),
        ]

    async def _caller(self, request: Request) -> AccountId:
        return (await request_caller(request, self._accounts)).account

    @endpoint
    async def catalogs(self, request: Request) -> Response:
        await self._caller(request)
        found = await self._catalogs.catalogs_public(request.path_params["business"])
        return json_response(CatalogList(catalogs=[CatalogOut(catalog_id=c.id, name=c.name) for c in found]))

    @endpoint
    async def products(self, request: Request) -> Response:
        await self._caller(request)
        ids = request.query_params.get("ids")
        if ids is not None:
            catalog, found = await self._catalogs.public_selected(
                request.path_params["business"],
                request.path_params["catalog"],
                [x for x in ids.split(",") if x][: SELECTED_MAX + 1],
            )
            return json_response(
                ProductPage(
                    catalog_id=catalog.id, name=catalog.name, products=[product_out(p) for p in found]
                )
            )
        limit_text = request.query_params.get("limit", "50")
        limit = int(limit_text) if limit_text.isdigit() and len(limit_text) < 6 else 50
        catalog, found = await self._catalogs.public_products(
            request.path_params["business"],
            request.path_params["catalog"],
            after=request.query_params.get("after"),
            limit=limit,
        )
        after = found[-1].retailer_id if len(found) == max(1, min(limit, PAGE_MAX)) else None
        return json_response(
            ProductPage(
                catalog_id=catalog.id,
                name=catalog.name,
                products=[product_out(p) for p in found],
                after=after,
            )
        )

    @endpoint
    async def place(self, request: Request) -> Response:
        account = await self._caller(request)
        body = await read_body(request, NewOrder)
        lines = [CartLine(x.product_retailer_id, x.quantity) for x in body.product_items]
        order = await self._orders.place(account, request.path_params["business"], body.catalog_id, lines)
        return json_response(order_out(order, []), status=201)

    @endpoint
    async def mine(self, request: Request) -> Response:
        account = await self._caller(request)
        found = await self._orders.mine(account, request.path_params["business"])
        return json_response(
            OrderList(orders=[order_out(o, await self._payments.of_order(o)) for o in found])
        )

    @endpoint
    async def pay(self, request: Request) -> Response:
        account = await self._caller(request)
        body = await read_body(request, PayOrder)
        paid = await self._payments.pay(
            account,
            request.path_params["order"],
            method=body.payment_method,
            idempotency_key=body.idempotency_key,
        )
        return json_response(payment_out(paid))

    @endpoint
    async def confirm(self, request: Request) -> Response:
        account = await self._caller(request)
        return json_response(
            payment_out(await self._payments.confirm(account, request.path_params["payment"]))
        )
