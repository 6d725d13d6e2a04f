"""``passerelle business catalog …`` and ``passerelle business order …``: a business manages its
catalog and its orders with its system-user token, through the same Graph-style API its bot calls
(docs/commerce.md sections 1 and 3): ``/{waba_id}/product_catalogs``, ``/{catalog_id}/products``,
``/{order_id}/order_status``, ``/{order_id}/refunds``. Prices are integers in minor units
(``--price 1250 --currency EUR`` is 12.50 EUR)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from passerelle.cli.business.command import DEFAULT_SERVER, ServerOpt, _seg, _show

catalog = typer.Typer(
    help="A business's catalogs and products (its system-user token).", no_args_is_help=True
)
order = typer.Typer(
    help="A business's orders: status and refunds (its system-user token).", no_args_is_help=True
)

BusinessTokenOpt = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="PASSERELLE_BUSINESS_TOKEN",
        help="The business's system-user token (pbt_…)",
        show_default=False,
    ),
]


def _graph(server: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if not token:
        typer.echo("passerelle business: give --token or set PASSERELLE_BUSINESS_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        with httpx.Client(base_url=server.rstrip("/") + "/v26.0", timeout=30.0) as http:
            response = http.request(
                method,
                path,
                content=None if body is None else json.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
    except httpx.HTTPError as exc:
        typer.echo(f"passerelle business: cannot reach {server}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"passerelle business: {response.status_code} {response.text}", err=True)
        raise typer.Exit(1)
    return response.json()


@catalog.command("create")
def create(waba_id: str, name: str, server: ServerOpt = DEFAULT_SERVER, token: BusinessTokenOpt = "") -> None:
    """Create a catalog under a business account; prints its id."""
    _show(_graph(server, token, "POST", f"/{_seg(waba_id)}/product_catalogs", {"name": name}))


@catalog.command("list")
def list_catalogs(waba_id: str, server: ServerOpt = DEFAULT_SERVER, token: BusinessTokenOpt = "") -> None:
    """The business's catalogs."""
    _show(_graph(server, token, "GET", f"/{_seg(waba_id)}/product_catalogs"))


@catalog.command("put")
def put(
    catalog_id: str,
    retailer_id: Annotated[str, typer.Option(help="The product's id in the catalog (its SKU)")],
    name: Annotated[str, typer.Option(help="What customers see")],
    price: Annotated[int, typer.Option(help="Integer minor units: 1250 is 12.50")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
    description: str = "",
    inventory: Annotated[int, typer.Option(help="How many are left to sell")] = 0,
    image: Annotated[
        list[str] | None, typer.Option(help="An https URL or media:<id>; repeat for more")
    ] = None,
    availability: Annotated[str, typer.Option(help="'in stock' or 'out of stock'")] = "in stock",
    server: ServerOpt = DEFAULT_SERVER,
    token: BusinessTokenOpt = "",
) -> None:
    """Create a product, or change the one with this retailer id."""
    images = list(image or [])
    body: dict[str, Any] = {
        "retailer_id": retailer_id,
        "name": name,
        "price": price,
        "currency": currency,
        "description": description,
        "inventory": inventory,
        "availability": availability,
    }
    if images:
        body["image_url"] = images[0]
        body["additional_image_urls"] = images[1:]
    _show(_graph(server, token, "POST", f"/{_seg(catalog_id)}/products", body))


@catalog.command("products")
def products(
    catalog_id: str,
    after: str = "",
    limit: int = 25,
    server: ServerOpt = DEFAULT_SERVER,
    token: BusinessTokenOpt = "",
) -> None:
    """A page of the catalog's products, by retailer id."""
    query = f"?limit={limit}" + (f"&after={_seg(after)}" if after else "")
    _show(_graph(server, token, "GET", f"/{_seg(catalog_id)}/products{query}"))


@catalog.command("delete")
def delete(
    catalog_id: str, retailer_id: str, server: ServerOpt = DEFAULT_SERVER, token: BusinessTokenOpt = ""
) -> None:
    """Delete a product."""
    _show(_graph(server, token, "DELETE", f"/{_seg(catalog_id)}/products?retailer_id={_seg(retailer_id)}"))


@order.command("status")
def status(
    order_id: str,
    new_status: Annotated[str, typer.Argument(help="processing, shipped, delivered or cancelled")],
    server: ServerOpt = DEFAULT_SERVER,
    token: BusinessTokenOpt = "",
) -> None:
    """Move an order on; prints the order."""
    _show(_graph(server, token, "POST", f"/{_seg(order_id)}/order_status", {"status": new_status}))


@order.command("refund")
def refund(order_id: str, server: ServerOpt = DEFAULT_SERVER, token: BusinessTokenOpt = "") -> None:
    """Refund the order's payment (once)."""
    _show(_graph(server, token, "POST", f"/{_seg(order_id)}/refunds", {}))
