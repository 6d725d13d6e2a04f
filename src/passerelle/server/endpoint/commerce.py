"""The endpoint's commerce sends (docs/commerce.md section 2): a bot's ``product``,
``product_list`` and ``catalog_message`` name products by retailer id; the endpoint reads them from
the business's public catalog (an unknown catalog or product is 131009, as the Cloud API answers
it) and encrypts, with the bot's object, what the person sees of each, and the text fallback.
``order_details`` and ``order_status`` travel as the bot sent them, with their text: the amount a
person pays is the server's order total, never the one written in the message."""

from __future__ import annotations

from typing import Any

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.commerce.money import MINOR_DIGITS
from passerelle.proto.cloud.commerce_checks import retailer_ids
from passerelle.proto.cloud.commerce_content import render_commerce
from passerelle.proto.cloud.content import cloud_object
from passerelle.proto.cloud.messages import MessageRequest
from passerelle.proto.rest.commerce import ProductOut
from passerelle.sdk import Client
from passerelle.sdk.errors import NotFound
from passerelle.sdk.schema import ReplyRef, TextContent
from passerelle.server.endpoint.cloud import now_ms


def snapshot(p: ProductOut) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "retailer_id": p.retailer_id,
        "name": p.name,
        "price": p.price,
        "currency": p.currency,
        "available": p.availability == "in stock" and p.stock > 0,
    }
    if p.images:
        shown["image"] = p.images[0]
    return shown


async def commerce_content(
    client: Client, business_id: str, req: MessageRequest, wamid: str, reply: ReplyRef | None
) -> TextContent:
    item = req.interactive
    assert item is not None  # checked (proto.cloud.commerce_checks)
    assert item.action is not None
    wanted = retailer_ids(item)
    products: list[dict[str, Any]] = []
    if wanted or item.type == "catalog_message":
        catalog_id = item.action.catalog_id
        if catalog_id is None:  # catalog_message: the business's catalog (its first)
            catalogs = (await client.businesses.catalogs(business_id)).catalogs
            if not catalogs:
                raise CloudApiError(Failure.PARAMETER_VALUE, "The business has no catalog.")
            catalog_id = catalogs[0].catalog_id
        if wanted:
            try:
                page = await client.businesses.products(business_id, catalog_id, ids=wanted)
            except NotFound:
                raise CloudApiError(
                    Failure.PARAMETER_VALUE,
                    f"catalog_id {catalog_id[:32]!r} is not a catalog of this business.",
                ) from None
            found = {p.retailer_id: p for p in page.products}
            for retailer_id in wanted:
                if retailer_id not in found:
                    raise CloudApiError(
                        Failure.PARAMETER_VALUE,
                        f"The catalog has no product with product_retailer_id {retailer_id[:100]!r}.",
                    )
            products = [snapshot(found[r]) for r in wanted]
    cloud = cloud_object(req, "interactive")
    assert cloud is not None
    if products:
        cloud["products"] = products
    body = render_commerce(item, products, MINOR_DIGITS)
    return TextContent(id=wamid, ts=now_ms(), body=body, in_reply_to=reply, cloud=cloud)
