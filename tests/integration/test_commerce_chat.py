"""Commerce in chat through a self-run business endpoint (docs/commerce.md section 2): the bot
(plain httpx, as pywa sends) shares a product, a product list and the catalog; the customer's SDK
shows the products (name, price, image) and an app without the feature reads the text fallback;
the customer orders, the bot asks for payment with ``order_details`` (the customer pays the
server's total, not the message's) and tells the status with ``order_status``, which reaches the
customer's other device. Refused: an unknown product (131009), another business's catalog
(131009), 31 products (100), and any commerce message to someone who never wrote or opted in
(131047)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, enrolment, inbound, next_message, open_shop, self_run
from tests.integration.test_business import ADMIN, PW
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


def interactive(kind: str, **member: Any) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {"type": kind, **member}}


async def test_products_orders_and_payment_requests_in_chat(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    graph = httpx.AsyncClient(
        base_url=server.url + "/v26.0", headers={"Authorization": f"Bearer {shop.token}"}
    )
    catalog = (await graph.post(f"/{shop.waba_id}/product_catalogs", json={"name": "Vélos"})).json()["id"]
    for retailer_id, name, price, stock in [("bike-1", "City bike", 1250, 3), ("bell", "Bell", 300, 10)]:
        product = {
            "retailer_id": retailer_id,
            "name": name,
            "price": price,
            "currency": "EUR",
            "inventory": stock,
        }
        assert (
            await graph.post(f"/{catalog}/products", json={**product, "image_url": "media:42"})
        ).status_code == 200
    token = await enrolment(http, shop.business_id)
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(
        server.url, tmp_path / "bob", app="social", username="bob.b", display_name="Bob", password=PW
    )
    second = None
    async with self_run(server, tmp_path / "endpoint", token) as (_endpoint, base):
        bot = Bot(base, shop)
        try:
            await alice.connect()
            found = await alice.businesses.find("biz:velo-paris")
            business = str(found.account_id)
            stream = alice.messages()
            await alice.send_text(business, "Do you sell bikes?")
            await receiver.wait_until(lambda r: len(inbound(r)) >= 1)
            user_id = inbound(receiver)[0]["contacts"][0]["user_id"]

            # A product: Alice sees its name, price and image; the text says the same.
            sent = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "product",
                        body={"text": "Our best seller"},
                        action={"catalog_id": catalog, "product_retailer_id": "bike-1"},
                    ),
                }
            )
            assert sent.status_code == 200, sent.text
            shown = await next_message(stream)
            products = alice.businesses.shown_products(shown)
            assert [(p.name, p.price_text, p.image) for p in products] == [
                ("City bike", "12.50 EUR", "media:42")
            ]
            assert "🛍 City bike — 12.50 EUR" in shown.text and "Our best seller" in shown.text

            # A product list in two sections, and the catalog.
            sections = [
                {"title": "Bikes", "product_items": [{"product_retailer_id": "bike-1"}]},
                {"title": "Parts", "product_items": [{"product_retailer_id": "bell"}]},
            ]
            listed = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "product_list",
                        header={"type": "text", "text": "Shop"},
                        body={"text": "Pick"},
                        action={"catalog_id": catalog, "sections": sections},
                    ),
                }
            )
            assert listed.status_code == 200, listed.text
            shown = await next_message(stream)
            assert [p.retailer_id for p in alice.businesses.shown_products(shown)] == ["bike-1", "bell"]
            assert shown.text.splitlines() == [
                "Shop",
                "Pick",
                "Bikes",
                "🛍 City bike — 12.50 EUR",
                "Parts",
                "🛍 Bell — 3.00 EUR",
            ]
            whole = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "catalog_message",
                        body={"text": "All of it"},
                        action={
                            "name": "catalog_message",
                            "parameters": {"thumbnail_product_retailer_id": "bell"},
                        },
                    ),
                }
            )
            assert whole.status_code == 200, whole.text
            assert "[View catalog]" in (await next_message(stream)).text

            # Refused: unknown product, another catalog, 31 products, malformed.
            unknown = await bot.send(
                {
                    "recipient": user_id,
                    **interactive("product", action={"catalog_id": catalog, "product_retailer_id": "saddle"}),
                }
            )
            assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 131009
            elsewhere = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "product", action={"catalog_id": "123456789012345", "product_retailer_id": "bell"}
                    ),
                }
            )
            assert elsewhere.status_code == 400 and elsewhere.json()["error"]["code"] == 131009
            many = [
                {"title": f"S{i}", "product_items": [{"product_retailer_id": f"p{i}-{j}"} for j in range(4)]}
                for i in range(8)
            ]
            too_many = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "product_list",
                        header={"type": "text", "text": "H"},
                        body={"text": "B"},
                        action={"catalog_id": catalog, "sections": many},
                    ),
                }
            )
            assert too_many.status_code == 400 and too_many.json()["error"]["code"] == 100

            # Alice orders; the bot asks for a payment (writing a wrong amount), she pays the server's.
            order = await alice.businesses.order(shop.business_id, catalog, {"bike-1": 1, "bell": 2})
            ask = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "order_details",
                        body={"text": "Please pay"},
                        action={
                            "name": "review_and_pay",
                            "parameters": {
                                "reference_id": order.order_id,
                                "type": "physical-goods",
                                "currency": "EUR",
                                "total_amount": {"value": 1, "offset": 100},
                            },
                        },
                    ),
                }
            )
            assert ask.status_code == 200, ask.text
            request = await next_message(stream)
            assert f"💳 Payment request for order {order.order_id}" in request.text
            to_pay = await alice.businesses.payment_request(request, shop.business_id)
            assert to_pay is not None and to_pay.total == 1850
            paid = await alice.businesses.pay(
                to_pay.order_id, "4242424242424242", idempotency_key="alice-chat-1"
            )
            assert paid.status == "succeeded" and paid.amount == 1850

            # The status reaches Alice's other device.
            second = await Client.add_device(
                server.url, tmp_path / "alice-2", app="photo", handle="alice", password=PW
            )
            await second.connect()
            other_stream = second.messages()
            told = await bot.send(
                {
                    "recipient": user_id,
                    **interactive(
                        "order_status",
                        body={"text": "On its way"},
                        action={
                            "name": "review_order",
                            "parameters": {
                                "reference_id": order.order_id,
                                "order": {"status": "shipped", "description": "Colissimo 8X123"},
                            },
                        },
                    ),
                }
            )
            assert told.status_code == 200, told.text
            update = await next_message(other_stream)
            status = second.businesses.order_update(update)
            assert status is not None and (status.order_id, status.status) == (order.order_id, "shipped")
            assert f"📦 Order {order.order_id}: shipped" in update.text

            # Bob wrote once, a day ago, and never opted in: no commerce message reaches him now.
            await bob.connect()
            await bob.send_text(business, "hello")
            await receiver.wait_until(
                lambda r: any(v["contacts"][0]["profile"]["name"] == "Bob" for v in inbound(r))
            )
            bob_id = next(v for v in inbound(receiver) if v["contacts"][0]["profile"]["name"] == "Bob")[
                "contacts"
            ][0]["user_id"]
            assert bob_id != user_id
            server.clock.advance(25 * 3600)
            for cold in (
                interactive("product", action={"catalog_id": catalog, "product_retailer_id": "bell"}),
                interactive("catalog_message", body={"text": "Sale!"}, action={"name": "catalog_message"}),
            ):
                refused = await bot.send({"recipient": bob_id, **cold})
                assert refused.status_code == 400 and refused.json()["error"]["code"] == 131047
            # His order is a message to the business: the window opens again and the bot may answer.
            await bob.businesses.order(shop.business_id, catalog, {"bell": 1})
            again = await bot.send(
                {
                    "recipient": bob_id,
                    **interactive("product", action={"catalog_id": catalog, "product_retailer_id": "bell"}),
                }
            )
            assert again.status_code == 200, again.text
        finally:
            await bot.aclose()
            await graph.aclose()
            for person in (alice, bob, second):
                if person is not None:
                    await person.close()
