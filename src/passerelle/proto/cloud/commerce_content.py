"""Commerce messages inside the end-to-end encryption (docs/commerce.md section 2). The business's
endpoint sends the bot's ``interactive`` object as it does any other (``cloud``), adding what the
person sees of each product it names, read from the business's public catalog:
``cloud["products"] = [{"retailer_id", "name", "price", "currency", "image"?, "available"}]``
(``price`` in minor units). ``render_commerce`` is the plain text an app that cannot show products
or payment requests shows instead, and says the same: names, prices, the order and its status."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from passerelle.proto.cloud.messages import Amount, Interactive

MINOR_DIGITS_DEFAULT: Final = 2


def money_text(minor: int, currency: str, digits: int = MINOR_DIGITS_DEFAULT) -> str:
    return f"{Decimal(minor).scaleb(-digits)} {currency}"


def amount_text(amount: Amount | None, currency: str | None) -> str:
    if amount is None or amount.value is None:
        return ""
    offset = amount.offset or 1
    return f"{Decimal(amount.value) / Decimal(offset)} {currency or ''}".strip()


def product_line(product: dict[str, Any], digits: int) -> str:
    price = money_text(int(product["price"]), str(product["currency"]), digits)
    sold_out = "" if product.get("available", True) else " (out of stock)"
    return f"🛍 {product['name']} — {price}{sold_out}"


def render_commerce(item: Interactive, products: Sequence[dict[str, Any]], digits: dict[str, int]) -> str:
    """The text of a ``product``, ``product_list``, ``catalog_message``, ``order_details`` or
    ``order_status`` message; ``digits``: the minor-unit digits of each currency."""
    lines: list[str] = []
    if item.header is not None and item.header.text:
        lines.append(item.header.text)
    if item.body is not None and item.body.text:
        lines.append(item.body.text)
    by_id = {str(p["retailer_id"]): p for p in products}
    action = item.action
    if item.type == "product_list" and action is not None:
        for section in action.sections or ():
            lines.append(section.title or "")
            for ref in section.product_items or ():
                found = by_id.get(ref.product_retailer_id or "")
                if found is not None:
                    lines.append(
                        product_line(found, digits.get(str(found["currency"]), MINOR_DIGITS_DEFAULT))
                    )
    elif item.type in ("product", "catalog_message"):
        lines.extend(product_line(p, digits.get(str(p["currency"]), MINOR_DIGITS_DEFAULT)) for p in products)
        if item.type == "catalog_message":
            lines.append("[View catalog]")
    elif action is not None and action.parameters is not None:
        params = action.parameters
        if item.type == "order_details":
            total = amount_text(params.total_amount, params.currency)
            lines.append(
                f"💳 Payment request for order {params.reference_id}" + (f": {total}" if total else "")
            )
        else:
            order = params.order
            status = order.status if order is not None else ""
            lines.append(f"📦 Order {params.reference_id}: {status}")
            if order is not None and order.description:
                lines.append(order.description)
    if item.footer is not None and item.footer.text:
        lines.append(item.footer.text)
    return "\n".join(line for line in lines if line)
