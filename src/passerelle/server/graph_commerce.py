"""The Graph-style commerce routes a business's bot calls with its system-user token (docs/commerce.md
sections 1 and 3, shapes in ``proto/cloud/catalog.py``): its catalogs and products, an order's status
and its refund. Mounted beside the other Graph routes (``server.graph``), with the same envelope."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.commerce.catalog import Product, check_product
from passerelle.domain.commerce.money import Money
from passerelle.domain.errors import DomainError
from passerelle.proto.cloud.catalog import (
    CatalogEntry,
    CatalogList,
    CreateCatalog,
    Created,
    OrderEntry,
    OrderItem,
    OrderStatusIn,
    ProductEntry,
    ProductIn,
    ProductList,
    RefundAnswer,
)
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.responses import Cursors, Paging, Success
from passerelle.proto.openapi import Auth, Param
from passerelle.server.declared import check_auth, check_body, graph_route
from passerelle.server.graph import JSON, error_of
from passerelle.service.business.cloud import CloudControl
from passerelle.service.business.people import person_ids
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.commerce.catalogs import PAGE_MAX, Catalogs
from passerelle.service.commerce.events import amount_of
from passerelle.service.commerce.orders import Orders
from passerelle.service.commerce.payments import Payments
from passerelle.service.commerce.ports import OrderRecord
from passerelle.service.links.links import Links
from passerelle.service.ports import Clock

log = logging.getLogger("passerelle.server.graph")
Handler = Callable[["CommerceGraph", Request], Awaitable[Response]]


def commerce_endpoint(handler: Handler) -> Handler:
    async def wrapped(self: CommerceGraph, request: Request) -> Response:
        try:
            return await handler(self, request)
        except (DomainError, CloudBodyError) as exc:
            return error_of(exc)
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.url.path)
            return error_of(exc)

    wrapped.__name__ = wrapped.__qualname__ = handler.__name__
    return wrapped


def product_entry(p: Product) -> ProductEntry:
    f = p.fields
    return ProductEntry(
        id=p.id,
        retailer_id=f.retailer_id,
        name=f.name,
        description=f.description,
        price=f.price,
        currency=f.currency,
        inventory=f.stock,
        availability=f.availability.value,
        image_url=f.images[0] if f.images else None,
        additional_image_urls=list(f.images[1:]),
    )


def product_fields(body: ProductIn) -> tuple[str, ...]:
    images = ([body.image_url] if body.image_url else []) + list(body.additional_image_urls or [])
    return tuple(images)


class CommerceGraph:
    def __init__(
        self,
        *,
        cloud: CloudControl,
        businesses: BusinessStore,
        clock: Clock,
        catalogs: Catalogs,
        orders: Orders,
        payments: Payments,
        links: Links | None = None,
    ) -> None:
        self._links = links
        self._cloud = cloud
        self._businesses = businesses
        self._clock = clock
        self._catalogs = catalogs
        self._orders = orders
        self._payments = payments

    def routes(self) -> list[BaseRoute]:
        return [
            graph_route(
                "POST",
                "/{waba_id}/product_catalogs",
                self.create_catalog,
                body=CreateCatalog,
                answers={200: Created},
                summary="Create a catalog of the business",
            ),
            graph_route(
                "GET",
                "/{waba_id}/product_catalogs",
                self.catalogs,
                answers={200: CatalogList},
                summary="The business's catalogs",
            ),
            graph_route(
                "POST",
                "/{catalog_id}/products",
                self.put_product,
                body=ProductIn,
                answers={200: Created},
                summary="Create a product, or change the one with the same retailer_id",
                description="`price` is an integer in the currency's minor units (cents); images are https "
                "URLs or `media:<id>` of media the business uploaded.",
            ),
            graph_route(
                "GET",
                "/{catalog_id}/products",
                self.products,
                answers={200: ProductList},
                query={
                    "limit": Param(str, description=f"Products per page, 1 to {PAGE_MAX} (default 25)"),
                    "after": Param(str, description="The retailer id the page before ended with"),
                },
                summary="The catalog's products, by retailer id",
            ),
            graph_route(
                "DELETE",
                "/{catalog_id}/products",
                self.delete_product,
                answers={200: Success},
                query={"retailer_id": Param(str, required=True, description="The product's retailer id")},
                summary="Delete a product",
            ),
            graph_route(
                "POST",
                "/{order_id}/order_status",
                self.order_status,
                body=OrderStatusIn,
                answers={200: OrderEntry},
                summary="Move an order to processing, shipped, delivered or cancelled",
                description="The customer reads the status from any of their apps; the bot tells them "
                "in chat with an `order_status` interactive message.",
            ),
            graph_route(
                "POST",
                "/{order_id}/refunds",
                self.refund,
                answers={200: RefundAnswer},
                summary="Refund the order's succeeded payment (once; the order becomes refunded)",
            ),
        ]

    async def _caller(self, request: Request) -> SystemTokenRecord:
        check_auth(request, Auth.SYSTEM_USER)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = request.query_params.get("access_token", "")
        return await self._cloud.authenticate(token.strip())

    async def _order_entry(self, order: OrderRecord) -> Response:
        business = await self._businesses.get_business(order.business)
        if business is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "The order's business is gone.")
        person = await person_ids(self._businesses, self._clock, business, order.account, self._links)
        payments = await self._payments.of_order(order)
        answer = OrderEntry(
            id=order.id,
            catalog_id=order.catalog,
            status=order.status.value,
            currency=order.total.currency,
            total_amount=amount_of(order.total),
            product_items=[
                OrderItem(
                    product_retailer_id=x.retailer_id,
                    name=x.name,
                    quantity=x.quantity,
                    item_price=amount_of(Money(x.unit_price, order.total.currency)),
                    amount=amount_of(Money(x.amount, order.total.currency)),
                )
                for x in order.lines
            ],
            wa_id=person.wa_id,
            user_id=person.user_id,
            created_timestamp=order.created_at // 1000,
            updated_timestamp=order.updated_at // 1000,
            payment_status=payments[-1].status.value if payments else None,
        )
        return Response(encode(answer), media_type=JSON)

    @commerce_endpoint
    async def create_catalog(self, request: Request) -> Response:
        caller = await self._caller(request)
        check_body(request, CreateCatalog)
        body = decode(await request.body(), CreateCatalog)
        made = await self._catalogs.create(caller, request.path_params["waba_id"], body.name or "")
        return Response(encode(Created(id=made.id)), media_type=JSON)

    @commerce_endpoint
    async def catalogs(self, request: Request) -> Response:
        caller = await self._caller(request)
        found = await self._catalogs.list_of(caller, request.path_params["waba_id"])
        return Response(
            encode(CatalogList(data=[CatalogEntry(id=c.id, name=c.name) for c in found])), media_type=JSON
        )

    @commerce_endpoint
    async def put_product(self, request: Request) -> Response:
        caller = await self._caller(request)
        check_body(request, ProductIn)
        body = decode(await request.body(), ProductIn)
        if body.retailer_id is None:
            raise CloudBodyError("retailer_id", "is required")
        if body.name is None:
            raise CloudBodyError("name", "is required")
        if body.price is None:
            raise CloudBodyError("price", "is required (an integer in minor units)")
        fields = check_product(
            retailer_id=body.retailer_id,
            name=body.name,
            description=body.description or "",
            price=body.price,
            currency=body.currency or "",
            images=product_fields(body),
            stock=body.inventory if body.inventory is not None else 0,
            availability=body.availability or "in stock",
        )
        stored = await self._catalogs.put_product(caller, request.path_params["catalog_id"], fields)
        return Response(encode(Created(id=stored.id)), media_type=JSON)

    @commerce_endpoint
    async def products(self, request: Request) -> Response:
        caller = await self._caller(request)
        raw = request.query_params.get("limit", "25")
        if not raw.isdigit():
            raise CloudBodyError("limit", "must be a whole number")
        limit = max(1, min(int(raw[:6]), PAGE_MAX))
        found = await self._catalogs.products(
            caller, request.path_params["catalog_id"], after=request.query_params.get("after"), limit=limit
        )
        paging = None
        if found:
            more = len(found) == limit
            after = found[-1].retailer_id
            paging = Paging(
                cursors=Cursors(before=found[0].retailer_id, after=after),
                next=str(request.url.include_query_params(after=after)) if more else None,
            )
        return Response(
            encode(ProductList(data=[product_entry(p) for p in found], paging=paging)), media_type=JSON
        )

    @commerce_endpoint
    async def delete_product(self, request: Request) -> Response:
        caller = await self._caller(request)
        await self._catalogs.delete_product(
            caller, request.path_params["catalog_id"], request.query_params.get("retailer_id", "")
        )
        return Response(encode(Success()), media_type=JSON)

    @commerce_endpoint
    async def order_status(self, request: Request) -> Response:
        caller = await self._caller(request)
        check_body(request, OrderStatusIn)
        body = decode(await request.body(), OrderStatusIn)
        if not body.status:
            raise CloudBodyError("status", "is required")
        order = await self._orders.set_status(caller, request.path_params["order_id"], body.status)
        return await self._order_entry(order)

    @commerce_endpoint
    async def refund(self, request: Request) -> Response:
        caller = await self._caller(request)
        payment = await self._payments.refund(caller, request.path_params["order_id"])
        answer = RefundAnswer(
            id=payment.id,
            status=payment.status.value,
            reference_id=payment.order,
            amount=amount_of(payment.amount),
            currency=payment.amount.currency,
        )
        return Response(encode(answer), media_type=JSON)
