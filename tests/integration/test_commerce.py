"""Commerce through the real server (docs/commerce.md): the bot (plain httpx, as a Cloud API bot
calls the Graph API) manages a catalog; customers on three apps (real SDK clients) read it, order,
pay with the sandbox's test cards and read their orders from another device; the bot gets the
``order`` and payment webhooks, signed, from a real receiver. Bad input on the way: another
business's catalog, a float price, an unknown product, an exhausted stock, a tampered price, a
declined card, a second payment, a retried payment, a replayed confirmation, a second refund."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from passerelle.cli.main import app as cli_app
from passerelle.sdk import Client
from passerelle.sdk.errors import Conflict, InvalidInput, NotFound
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Shop, open_shop
from tests.integration.test_business import ADMIN, PW
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"
SUCCEEDS, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0025 0000 3155"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


class GraphBot:
    def __init__(self, server: ServerHandle, shop: Shop) -> None:
        self.http = httpx.AsyncClient(
            base_url=server.url + "/v26.0", headers={"Authorization": f"Bearer {shop.token}"}
        )

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {})


def values(bot: Receiver) -> list[dict[str, Any]]:
    return [json.loads(b)["entry"][0]["changes"][0]["value"] for b in bot.accepted]


def orders_in(bot: Receiver) -> list[dict[str, Any]]:
    return [
        v["messages"][0] for v in values(bot) if v.get("messages") and v["messages"][0]["type"] == "order"
    ]


def payments_in(bot: Receiver) -> list[dict[str, Any]]:
    return [
        v["statuses"][0]
        for v in values(bot)
        if v.get("statuses") and v["statuses"][0].get("type") == "payment"
    ]


async def test_the_cli_manages_the_catalog(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    shop = await open_shop(http, receiver)
    runner = CliRunner()
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_BUSINESS_TOKEN": shop.token}

    async def run(*args: str) -> Any:
        result = await asyncio.to_thread(runner.invoke, cli_app, ["business", "catalog", *args], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    catalog = (await run("create", shop.waba_id, "Vélos"))["id"]
    assert (await run("list", shop.waba_id))["data"] == [{"id": catalog, "name": "Vélos"}]
    await run(
        "put",
        catalog,
        "--retailer-id",
        "bike-1",
        "--name",
        "City bike",
        "--price",
        "1250",
        "--inventory",
        "3",
        "--image",
        "https://velo.example/b.jpg",
        "--image",
        "media:7",
    )
    listed = (await run("products", catalog))["data"]
    assert [(p["retailer_id"], p["price"], p["image_url"], p["additional_image_urls"]) for p in listed] == [
        ("bike-1", 1250, "https://velo.example/b.jpg", ["media:7"])
    ]
    assert await run("delete", catalog, "bike-1") == {"success": True}
    missing = await asyncio.to_thread(
        runner.invoke, cli_app, ["business", "catalog", "delete", catalog, "bike-1"], env=env
    )
    assert missing.exit_code == 1 and "400" in missing.output


async def test_a_catalog_sold_across_apps(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    other = await open_shop(http, receiver, slug="atelier", display="+33 1 99 99 99 99")
    bot, rival = GraphBot(server, shop), GraphBot(server, other)
    sandbox = server.running.services.payment_provider
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    alice_chat = None
    bob = await Client.register(
        server.url, tmp_path / "bob", app="social", username="bob.b", display_name="Bob", password=PW
    )
    try:
        # -- the business's catalog, through the Graph API ------------------------------------------
        made = await bot.post(f"/{shop.waba_id}/product_catalogs", {"name": "Vélos"})
        assert made.status_code == 200, made.text
        catalog = made.json()["id"]
        products = [
            {
                "retailer_id": "bike-1",
                "name": "City bike",
                "price": 1250,
                "currency": "eur",
                "inventory": 2,
                "image_url": "https://velo.example/bike.jpg",
                "description": "A bike",
            },
            {"retailer_id": "bell", "name": "Bell", "price": 300, "currency": "EUR", "inventory": 50},
            {
                "retailer_id": "lamp",
                "name": "Lamp",
                "price": 900,
                "currency": "EUR",
                "inventory": 5,
                "availability": "out of stock",
            },
        ]
        for product in products:
            answer = await bot.post(f"/{catalog}/products", product)
            assert answer.status_code == 200, answer.text
        listed = await bot.http.get(f"/{catalog}/products")
        assert [p["retailer_id"] for p in listed.json()["data"]] == ["bell", "bike-1", "lamp"]
        bike = next(p for p in listed.json()["data"] if p["retailer_id"] == "bike-1")
        assert bike["price"] == 1250 and bike["currency"] == "EUR" and bike["inventory"] == 2
        float_price = await bot.post(f"/{catalog}/products", {**products[1], "price": 2.5})
        assert float_price.status_code == 400 and float_price.json()["error"]["code"] == 100
        bad_currency = await bot.post(f"/{catalog}/products", {**products[1], "currency": "XXX"})
        assert bad_currency.status_code == 400
        stolen = await rival.post(f"/{catalog}/products", products[1])  # another business's catalog
        assert stolen.status_code == 400 and stolen.json()["error"]["error_subcode"] == 33

        # -- a customer on photo reads it (public) and orders; the price she sends is ignored -------
        page = await alice.businesses.products(shop.business_id, catalog)
        assert [(p.retailer_id, p.price) for p in page.products] == [
            ("bell", 300),
            ("bike-1", 1250),
            ("lamp", 900),
        ]
        order = await alice.businesses.order(
            shop.business_id, catalog, {"bike-1": 1, "bell": 2}, shown_prices={"bike-1": 1, "bell": 1}
        )
        assert order.total == 1850 and order.currency == "EUR" and order.status == "pending"
        await receiver.wait_until(lambda r: len(orders_in(r)) == 1)
        webhook = orders_in(receiver)[0]
        assert webhook["order"]["catalog_id"] == catalog and webhook["order"]["order_id"] == order.order_id
        assert webhook["order"]["total_amount"] == {"value": 1850, "offset": 100}
        assert [
            (i["product_retailer_id"], i["quantity"], i["item_price"])
            for i in webhook["order"]["product_items"]
        ] == [
            ("bike-1", 1, 12.5),
            ("bell", 2, 3),
        ]
        assert all(p.status == 200 for p in receiver.posts)  # every webhook signed with the app secret

        with pytest.raises(NotFound):  # an unknown product
            await bob.businesses.order(shop.business_id, catalog, {"saddle": 1})
        with pytest.raises(Conflict):  # out of stock
            await bob.businesses.order(shop.business_id, catalog, {"lamp": 1})
        with pytest.raises(Conflict):  # one bike left
            await bob.businesses.order(shop.business_id, catalog, {"bike-1": 2})
        with pytest.raises(NotFound):  # the catalog is not this business's
            await bob.businesses.order(other.business_id, catalog, {"bell": 1})
        left = await bob.businesses.products(shop.business_id, catalog, ids=["bike-1"])
        assert left.products[0].stock == 1  # the failed orders reserved nothing

        # -- paying: declined, then paid once; a retry answers the same; a second payment is refused --
        declined = await alice.businesses.pay(order.order_id, DECLINED, idempotency_key="alice-order-1-a")
        assert declined.status == "failed" and declined.error.startswith("card_declined")
        paid = await alice.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="alice-order-1-b")
        assert paid.status == "succeeded" and paid.amount == 1850 and paid.method == "card:4242"
        again = await alice.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="alice-order-1-b")
        assert again.payment_id == paid.payment_id
        with pytest.raises(Conflict):
            await alice.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="alice-order-1-c")
        with pytest.raises(InvalidInput):
            await alice.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="short")
        with pytest.raises(NotFound):  # not Bob's order
            await bob.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="bob-pays-alice")
        assert sandbox.captured[order.order_id] == 1850  # charged once
        await receiver.wait_until(lambda r: len(payments_in(r)) == 2)
        failed, succeeded = payments_in(receiver)
        assert (
            failed["status"] == "failed"
            and failed["payment"]["transaction"]["error"]["code"] == "card_declined"
        )
        assert succeeded["status"] == "succeeded" and succeeded["payment"]["reference_id"] == order.order_id
        assert succeeded["payment"]["amount"] == {"value": 1850, "offset": 100}
        assert succeeded["recipient_id"] == webhook["from"]

        # -- pending, then authenticated: succeeds once, a replayed confirmation changes nothing ------
        second = await bob.businesses.order(shop.business_id, catalog, {"bell": 1})
        pending = await bob.businesses.pay(second.order_id, AUTHENTICATE, idempotency_key="bob-order-2-a")
        assert pending.status == "pending"
        confirmed = await bob.businesses.confirm_payment(pending.payment_id)
        replayed = await bob.businesses.confirm_payment(pending.payment_id)
        assert confirmed.status == replayed.status == "succeeded"
        assert sandbox.captured[second.order_id] == 300
        await receiver.wait_until(lambda r: len(payments_in(r)) == 4)
        assert [p["status"] for p in payments_in(receiver)[2:]] == ["pending", "succeeded"]

        # -- the business moves the status; the customer reads it from another app's device ----------
        shipped = await bot.post(f"/{order.order_id}/order_status", {"status": "shipped"})
        assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
        backwards = await bot.post(f"/{order.order_id}/order_status", {"status": "pending"})
        assert backwards.status_code == 400
        assert (
            await rival.post(f"/{order.order_id}/order_status", {"status": "delivered"})
        ).status_code == 400
        alice_chat = await Client.add_device(
            server.url, tmp_path / "alice-2", app="photo", handle="alice", password=PW
        )
        history = await alice_chat.businesses.orders(shop.business_id)
        assert [(o.order_id, o.status, o.total) for o in history] == [(order.order_id, "shipped", 1850)]
        assert [p.status for p in history[0].payments] == ["failed", "succeeded"]
        assert await bob.businesses.orders(other.business_id) == []
        exported = (await alice.privacy.export())["orders"]  # her data export holds her orders, not Bob's
        assert [(o["order_id"], o["total"], [p["status"] for p in o["payments"]]) for o in exported] == [
            (order.order_id, 1850, ["failed", "succeeded"])
        ]

        # -- a refund, once ---------------------------------------------------------------------------
        refund = await bot.post(f"/{second.order_id}/refunds")
        assert refund.status_code == 200 and refund.json()["status"] == "refunded"
        assert (await bot.post(f"/{second.order_id}/refunds")).json()["id"] == refund.json()["id"]
        assert sandbox.captured[second.order_id] == 0
        await receiver.wait_until(lambda r: len(payments_in(r)) == 5)
        assert payments_in(receiver)[4]["status"] == "refunded"
        assert (await bob.businesses.orders(shop.business_id))[0].status == "refunded"
        bell = await bob.businesses.products(shop.business_id, catalog, ids=["bell"])
        assert bell.products[0].stock == 48  # two for Alice; Bob's came back with the refund

        # -- ordering without paying holds the stock for 30 minutes only --------------------------
        hoard = await bob.businesses.order(shop.business_id, catalog, {"bike-1": 1})
        abandoned = await bob.businesses.pay(hoard.order_id, AUTHENTICATE, idempotency_key="bob-hoard-1")
        assert abandoned.status == "pending"  # and he never completes it
        with pytest.raises(Conflict):
            await alice.businesses.order(shop.business_id, catalog, {"bike-1": 1})
        server.clock.advance(31 * 60)
        await server.running.services.janitor.run_once()
        [latest, *_] = await bob.businesses.orders(shop.business_id)
        assert (latest.order_id, latest.status) == (hoard.order_id, "cancelled")
        assert [(p.status, p.error.split(":")[0]) for p in latest.payments] == [("failed", "expired")]
        late = await bob.businesses.confirm_payment(abandoned.payment_id)  # too late: nothing is taken
        assert late.status == "failed" and hoard.order_id not in sandbox.captured
        await receiver.wait_until(lambda r: len(payments_in(r)) == 7)
        assert [p["status"] for p in payments_in(receiver)[5:]] == ["pending", "failed"]
        assert (await alice.businesses.order(shop.business_id, catalog, {"bike-1": 1})).total == 1250
    finally:
        for person in (alice, bob, alice_chat):
            if person is not None:
                await person.close()
        await bot.http.aclose()
        await rival.http.aclose()
