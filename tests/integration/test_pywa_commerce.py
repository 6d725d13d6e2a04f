"""An unmodified pywa 4.5 bot sells (docs/commerce.md), in both deployments: ``send_product`` and
``send_products`` reach the customer's app as products with name and price; the customer's cart
reaches pywa's ``on_message`` as ``msg.order`` with the catalog's prices (the ones the customer's
app wrote are ignored), and the bot answers with the total it read."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pywa_async import WhatsApp
from pywa_async.types import Message, ProductsSection

from passerelle.sdk import Client
from passerelle.sdk.events import Message as Shown
from tests.conftest import ServerHandle
from tests.integration.test_business import ADMIN, PW
from tests.integration.test_pywa_bot import Deployment, Screen, deployment, shown, texts

__all__ = ["deployment"]  # the fixture of test_pywa_bot: both deployments
pytestmark = pytest.mark.settings(admin_token=ADMIN)


async def test_a_pywa_bot_shares_products_and_reads_the_order(
    deployment: Deployment, server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    bot = deployment.bot
    wa = bot.wa
    graph = {"Authorization": wa.api._session.headers["Authorization"]}
    made = await http.post(f"/v26.0/{bot.waba_id}/product_catalogs", json={"name": "Vélos"}, headers=graph)
    catalog = made.json()["id"]
    for sku, name, price in [("bike-1", "City bike", 1250), ("bell", "Bell", 300)]:
        body = {"retailer_id": sku, "name": name, "price": price, "currency": "EUR", "inventory": 5}
        assert (await http.post(f"/v26.0/{catalog}/products", json=body, headers=graph)).status_code == 200
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    await alice.connect()
    screen = Screen(alice)

    async def answer(client: WhatsApp, msg: Message) -> None:
        if msg.order is not None:
            await msg.reply_text(f"Total: {msg.order.total_price:.2f} {msg.order.products[0].currency}")

    wa.on_message(filters=None)(bot.handler(answer))
    try:
        shop = await alice.businesses.find("biz:velo-paris")
        await alice.send_text(str(shop.account_id), "bonjour")
        await bot.wait_until(lambda u: "bonjour" in texts(u))
        to = next(u.from_user.bsuid for u in bot.updates if isinstance(u, Message))

        await wa.send_product(to=to, catalog_id=catalog, sku="bike-1", body="Notre best-seller")
        product = await screen.seen(lambda e: isinstance(e, Shown) and "Notre best-seller" in e.text)
        assert isinstance(product, Shown)
        assert [(p.name, p.price_text) for p in alice.businesses.shown_products(product)] == [
            ("City bike", "12.50 EUR")
        ]
        await wa.send_products(
            to=to,
            catalog_id=catalog,
            product_sections=[ProductsSection(title="Tout", skus=["bike-1", "bell"])],
            title="Vélo Paris",
            body="Le catalogue",
        )
        listed = await screen.seen(lambda e: isinstance(e, Shown) and "Le catalogue" in e.text)
        assert isinstance(listed, Shown) and "🛍 Bell — 3.00 EUR" in listed.text

        await alice.businesses.order(
            shop.business_id, catalog, {"bike-1": 1, "bell": 2}, shown_prices={"bike-1": 1}
        )
        await bot.wait_until(lambda u: any(isinstance(x, Message) and x.order is not None for x in u))
        order = next(x.order for x in bot.updates if isinstance(x, Message) and x.order is not None)
        assert order.catalog_id == catalog
        assert [(p.sku, p.quantity, p.price) for p in order.products] == [("bike-1", 1, 12.5), ("bell", 2, 3)]
        await screen.seen(shown("Total: 18.50 EUR"))
    finally:
        await screen.close()
        await alice.close()
