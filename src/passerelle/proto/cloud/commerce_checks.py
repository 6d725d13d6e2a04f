"""What a valid commerce ``interactive`` message is (docs/commerce.md section 2), beyond its shape:
``product`` (``action.catalog_id`` and ``action.product_retailer_id``), ``product_list`` (a text
header, a body, ``catalog_id``, 1 to 10 titled sections holding 1 to 30 products in all, no product
twice), ``catalog_message`` (a body; ``action.name`` ``catalog_message``), ``order_details`` (a body;
``action.name`` ``review_and_pay``; ``parameters.reference_id``) and ``order_status`` (a body;
``action.name`` ``review_order``; ``parameters.reference_id`` and ``order.status``). Raises
``CloudBodyError`` naming the first wrong field, as the Cloud API's 100."""

from __future__ import annotations

from typing import Final

from passerelle.proto.cloud.commerce import ORDER_STATUSES
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.limits import LIST_SECTIONS_MAX, PRODUCT_LIST_ITEMS_MAX
from passerelle.proto.cloud.messages import Action, Interactive

COMMERCE_TYPES: Final = frozenset(
    {"product", "product_list", "catalog_message", "order_details", "order_status"}
)


def check_commerce_interactive(item: Interactive) -> None:
    kind = item.type
    action = item.action
    if kind != "product" and (item.body is None or not item.body.text):
        raise CloudBodyError("interactive.body.text", "is required")
    if action is None:
        raise CloudBodyError("interactive.action", "is required")
    if kind == "product":
        _catalog(action)
        if not action.product_retailer_id:
            raise CloudBodyError("interactive.action.product_retailer_id", "is required")
    elif kind == "product_list":
        if item.header is None or item.header.type != "text" or not item.header.text:
            raise CloudBodyError("interactive.header", "a product_list needs a text header")
        _catalog(action)
        _sections(action)
    elif kind == "catalog_message":
        if action.name != "catalog_message":
            raise CloudBodyError("interactive.action.name", "must be 'catalog_message'")
    elif kind == "order_details":
        if action.name != "review_and_pay":
            raise CloudBodyError("interactive.action.name", "must be 'review_and_pay'")
        if action.parameters is None or not action.parameters.reference_id:
            raise CloudBodyError("interactive.action.parameters.reference_id", "is required (the order id)")
    else:
        if action.name != "review_order":
            raise CloudBodyError("interactive.action.name", "must be 'review_order'")
        params = action.parameters
        if params is None or not params.reference_id:
            raise CloudBodyError("interactive.action.parameters.reference_id", "is required (the order id)")
        if params.order is None or params.order.status not in ORDER_STATUSES:
            raise CloudBodyError(
                "interactive.action.parameters.order.status", f"must be one of {', '.join(ORDER_STATUSES)}"
            )


def retailer_ids(item: Interactive) -> list[str]:
    """The products a checked ``product`` / ``product_list`` / ``catalog_message`` names."""
    action = item.action
    if action is None:
        return []
    if item.type == "product":
        return [action.product_retailer_id or ""]
    if item.type == "catalog_message":
        thumb = action.parameters.thumbnail_product_retailer_id if action.parameters is not None else None
        return [thumb] if thumb else []
    return [p.product_retailer_id or "" for s in action.sections or () for p in s.product_items or ()]


def _catalog(action: Action) -> None:
    if not action.catalog_id:
        raise CloudBodyError("interactive.action.catalog_id", "is required")


def _sections(action: Action) -> None:
    sections = action.sections or []
    if not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise CloudBodyError("interactive.action.sections", f"needs 1 to {LIST_SECTIONS_MAX} sections")
    seen: set[str] = set()
    for s, section in enumerate(sections):
        where = f"interactive.action.sections[{s}]"
        if not section.title:
            raise CloudBodyError(f"{where}.title", "is required")
        if not section.product_items:
            raise CloudBodyError(f"{where}.product_items", "needs at least one product")
        for p, item in enumerate(section.product_items):
            if not item.product_retailer_id:
                raise CloudBodyError(f"{where}.product_items[{p}].product_retailer_id", "is required")
            if item.product_retailer_id in seen:
                raise CloudBodyError(f"{where}.product_items[{p}].product_retailer_id", "must be unique")
            seen.add(item.product_retailer_id)
            if len(seen) > PRODUCT_LIST_ITEMS_MAX:
                raise CloudBodyError(
                    "interactive.action.sections",
                    f"may hold at most {PRODUCT_LIST_ITEMS_MAX} products in all",
                )
