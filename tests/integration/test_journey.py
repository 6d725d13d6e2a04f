"""The cross-app journey of issue 14 through the real server, with the example shop bot
(``examples/shop_bot.py``, written with ``passerelle.bot``) and the bot testbed: Ana has accounts on
``photo``, ``chat`` and ``social``, links them and shares that identity with the shop (docs/business.md
section 3.1), so the shop knows one customer. She discovers a bike on ``photo`` (numbered buttons,
then the products' text fallback), orders it on ``chat`` (the price her app sends is ignored; a
declined card, then one charge), asks for help on ``social`` (the bot knows her there: same
``user_id``, same conversation state, her paid order in the hand-off's summary), is handed to a person
(the admin API's view), and the shipping reaches her on ``social`` while her order history, read
from ``photo``, says shipped. Every step is asserted as Ana's apps show it and as the business sees
it (its bot's records, its webhooks, the admin API); the server keeps none of the conversation's
words."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from examples.shop_bot import make_shop

from passerelle.bot import Context
from passerelle.bot.testing import running_testbed
from passerelle.sdk.errors import Conflict
from tests.conftest import assert_absent

SUCCEEDS, DECLINED = "4242424242424242", "4000000000000002"


async def open_catalog(url: str, token: str, waba_id: str) -> str:
    """The business's catalog with a bike (two in stock) and a bell, through the Graph-style API."""
    async with httpx.AsyncClient(
        base_url=url + "/v26.0", headers={"Authorization": f"Bearer {token}"}
    ) as graph:
        made = await graph.post(f"/{waba_id}/product_catalogs", json={"name": "Vélos"})
        assert made.status_code == 200, made.text
        catalog = str(made.json()["id"])
        for retailer_id, name, price, stock in [("bike-1", "City bike", 1250, 2), ("bell", "Bell", 300, 10)]:
            product = {"retailer_id": retailer_id, "name": name, "price": price, "currency": "EUR"}
            put = await graph.post(f"/{catalog}/products", json={**product, "inventory": stock})
            assert put.status_code == 200, put.text
        return catalog


async def test_discover_on_photo_buy_on_chat_get_help_on_social(tmp_path: Path) -> None:
    async with running_testbed(tmp_path, deployment="self_run", slug="velo-paris") as bed:
        catalog = await open_catalog(bed.url, bed.token, bed.waba_id)
        state = tmp_path / "shop.sqlite3"
        shop = make_shop(
            catalog_id=catalog, products=["bike-1", "bell"], state_path=state, **bed.bot_options()
        )
        bot = shop.bot
        seen: list[str] = []  # the customers the bot's handlers served, as the business knows them

        async def who(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
            seen.append(ctx.customer.user_id)
            await call_next()

        bot.middleware.append(who)
        await bed.serve(bot)

        # -- Ana's three accounts, linked by her, shared with the shop: one customer there ----------
        photo = await bed.customer("ana", app="photo")
        chat = await bed.customer("ana_phone", app="chat")
        social = await bed.customer("ana.social", app="social")
        linked = await chat.client.links.take((await photo.client.links.request()).code)
        linked = await social.client.links.take((await chat.client.links.request()).code)
        assert set(linked.accounts) == {str(p.client.account_id) for p in (photo, chat, social)}
        shared = await social.client.businesses.share_identity(bed.business_id, True)
        assert shared.shared_with == [bed.business_id]

        # -- photo: Ana discovers the shop; photo shows no buttons, she types "1" -----------------
        await photo.say("/start")
        menu = await photo.sees(lambda m: m.text.startswith("Welcome!"))
        assert "1. See the products\n2. My orders\n3. Talk to a person" in menu.text
        await photo.say("1")
        listing = await photo.sees(lambda m: m.text.startswith("Our shop"))
        shown = photo.client.businesses.shown_products(listing)
        assert [(p.retailer_id, p.name, p.price_text) for p in shown] == [
            ("bike-1", "City bike", "12.50 EUR"),
            ("bell", "Bell", "3.00 EUR"),
        ]
        assert "🛍 City bike — 12.50 EUR" in listing.text  # what photo's screen shows

        # -- chat: her phone; she sends a cart from there (the bot's replies now reach chat) --------
        [found] = (await chat.client.businesses.catalogs(bed.business_id)).catalogs
        assert (found.catalog_id, found.name) == (catalog, "Vélos")
        # Her app wrote 0.01 EUR for the bike: ignored, the server prices the cart from the catalog.
        order = await chat.client.businesses.order(
            bed.business_id, catalog, {"bike-1": 1, "bell": 1}, shown_prices={"bike-1": 1}
        )
        assert (order.total, order.currency, order.status) == (1550, "EUR", "pending")
        ask = await chat.sees(lambda m: f"Payment request for order {order.order_id}" in m.text)
        assert "15.50 EUR" in ask.text
        to_pay = await chat.client.businesses.payment_request(ask, bed.business_id)
        assert to_pay is not None and to_pay.order_id == order.order_id and to_pay.total == 1550
        declined = await chat.client.businesses.pay(order.order_id, DECLINED, idempotency_key="ana-order-a")
        assert declined.status == "failed"
        await chat.sees_text("Your card was declined. You can pay again with another one.")
        paid = await chat.client.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="ana-order-b")
        assert (paid.status, paid.amount) == ("succeeded", 1550)
        await chat.sees(lambda m: m.text.startswith("Paid, thank you!"))
        # A tap twice on "pay" (the same key) is the same payment; another key is refused.
        assert (
            await chat.client.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="ana-order-b")
        ).payment_id == paid.payment_id
        with pytest.raises(Conflict):
            await chat.client.businesses.pay(order.order_id, SUCCEEDS, idempotency_key="ana-order-c")
        # The business's side: its bot's record of the order, paid once.
        record = (await shop.record(f"order:{order.order_id}")).data
        assert record["paid"] is True and record["total"] == 1550 and record["customer"] != ""

        # -- social: the bot knows her there (one customer, her paid order); she asks for a person --
        await social.say("Where is my bike? I want to talk to a human")
        await social.sees_text("A person from our team will answer you here.")
        [handoff] = await bed.handoffs()  # what the operator's admin API (the agents) see
        assert handoff["status"] == "open" and handoff["user_id"] == record["customer"]
        assert handoff["summary"] == f"Ana.Social asks for a person. Order {order.order_id}: 15.50 EUR, paid."
        taken = await bed.take(handoff["handoff_id"], "Léa")
        assert (taken["status"], taken["agent"]) == ("taken", "Léa")
        silenced = bot.silenced
        await social.say("hello?")
        await bot.wait_for(lambda: bot.silenced == silenced + 1)  # the bot leaves her to Léa
        # The bot's side: one customer, one conversation state, from photo, chat and social.
        assert set(seen) == {record["customer"]}, seen
        mine = await bot.states.load(bed.waba_id, record["customer"])
        assert mine.data["orders"] == [order.order_id] and mine.handoff is not None

        # -- the warehouse ships: the news reaches her on social, where she now talks ---------------
        await shop.ship(order.order_id, note="Colissimo 8X123")
        news = await social.sees(lambda m: social.client.businesses.order_update(m) is not None)
        update = social.client.businesses.order_update(news)
        assert update is not None and (update.order_id, update.status) == (order.order_id, "shipped")
        assert f"📦 Order {order.order_id}: shipped" in news.text
        # Her order history, read from photo (where she never ordered), is the one order, shipped.
        [history] = await photo.client.businesses.orders(bed.business_id)
        assert (history.order_id, history.status, history.total) == (order.order_id, "shipped", 1550)
        assert [p.status for p in history.payments] == ["failed", "succeeded"]
        await bed.resolve(handoff["handoff_id"])
        await social.sees_text("The shop bot is back. Send /start for the menu.")
        assert await bed.handoffs() == []
        # Each reply went to the app she wrote or ordered from, once: nothing of chat's or social's
        # on photo, and on chat (where she only ordered) one request, one decline, one thanks.
        assert {m.id for m in photo.shown()} <= {menu.id, listing.id}
        assert [m.text.split(" ")[0] for m in chat.shown()] == ["Order", "Your", "Paid,"]

        # The server keeps none of the conversation's words: the business runs its endpoint (self-run).
        server_files = [p for p in (tmp_path / "server").rglob("*") if p.is_file()]
        assert_absent(
            ["Where is my bike?", "Colissimo 8X123", "A person from our team", "Paid, thank you!"],
            server_files,
        )


async def test_the_shop_bot_against_floods_replays_and_forged_payments(tmp_path: Path) -> None:
    """The adversaries: a customer who floods the bot (their messages are handled one at a time,
    each answered once, and another customer writing in the middle of it is answered too; no lock
    is kept afterwards.
    The server's own send limit refuses a device's excess: tests/integration/test_limits.py); someone who
    replays a captured tap or payment webhook to the bot (handled once, also after a restart of the
    bot: its state file remembers the updates it handled); someone who forges a payment webhook
    (refused: 401 unsigned, 403 badly signed; the order stays unpaid). Forged and replayed codes
    linking accounts: tests/integration/test_linked_accounts.py."""
    async with running_testbed(tmp_path, deployment="hosted", slug="velo-lyon") as bed:
        catalog = await open_catalog(bed.url, bed.token, bed.waba_id)
        state = tmp_path / "shop.sqlite3"
        shop = make_shop(catalog_id=catalog, products=["bike-1"], state_path=state, **bed.bot_options())
        bot = shop.bot
        posts: list[tuple[bytes, str | None]] = []
        receive = bot.receive

        async def recording(body: bytes, signature: str | None) -> int:
            posts.append((body, signature))
            return await receive(body, signature)

        bot.receive = recording  # type: ignore[method-assign]
        await bed.serve(bot)

        # -- a flood: 12 messages at once; each handled in turn, and Ana's /start amid them too ------
        flooder = await bed.customer("flo", app="chat")
        ana = await bed.customer("ana", app="social")
        await flooder.say("spam 0")  # the first send opens the encrypted sessions; then all at once
        await ana.say("hi")
        await asyncio.gather(*(flooder.say(f"spam {n}") for n in range(1, 12)), ana.say("/start"))
        menu = await ana.sees(lambda m: m.text.startswith("Welcome!"))
        await flooder.saw(lambda e: len(flooder.shown()) == 12, within=20)
        assert {m.text for m in flooder.shown()} == {"Send /start for the menu."}
        await bot.wait_for(lambda: bot.handled == 14)
        assert bot._locks == {}  # no per-customer lock kept once a customer's updates are handled

        # -- a tap replayed to the bot's webhook: handled once -------------------------------------
        await ana.tap(menu, "orders")
        await ana.sees_text("Your orders: none yet.")
        tap = next(p for p in posts if b'"button_reply"' in p[0])
        async with httpx.AsyncClient() as http:

            async def post(body: bytes, signature: str | None) -> int:
                headers = {"Content-Type": "application/json"}
                if signature is not None:
                    headers["X-Hub-Signature-256"] = signature
                return (await http.post(shop.bot.url, content=body, headers=headers)).status_code

            await bot.wait_for(lambda: bot.handled == 15)  # the flood, "hi", /start and the tap
            handled = bot.handled
            assert await post(*tap) == 200
            assert bot.handled == handled

            # -- paid once; the payment webhook replayed, before and after a restart ---------------
            order = await ana.client.businesses.order(bed.business_id, catalog, {"bike-1": 1})
            ask = await ana.sees(lambda m: f"Payment request for order {order.order_id}" in m.text)
            to_pay = await ana.client.businesses.payment_request(ask, bed.business_id)
            assert to_pay is not None
            await ana.client.businesses.pay(to_pay.order_id, SUCCEEDS, idempotency_key="ana-pays-once")
            await ana.sees(lambda m: m.text.startswith("Paid, thank you!"))
            await bot.wait_for(lambda: bot.handled == handled + 2)  # the order and the payment
            paid = next(p for p in posts if b'"payment"' in p[0] and b'"succeeded"' in p[0])
            assert await post(*paid) == 200
            assert bot.handled == handled + 2  # the replay is not handled again

            await bot.aclose()
            shop = make_shop(catalog_id=catalog, products=["bike-1"], state_path=state, **bed.bot_options())
            bot = shop.bot
            await bed.serve(bot)
            # A new process: the state file remembers what was handled; neither is handled again.
            assert await post(*tap) == 200
            assert await post(*paid) == 200
            assert bot.handled == 0

            # -- forged: a payment of the second order that nobody paid -----------------------------
            second = await ana.client.businesses.order(bed.business_id, catalog, {"bike-1": 1})
            await ana.sees(lambda m: f"Payment request for order {second.order_id}" in m.text)
            forged = paid[0].replace(order.order_id.encode(), second.order_id.encode())
            assert await post(forged, None) == 401
            assert await post(forged, paid[1]) == 403
            assert await post(forged, "sha256=" + "0" * 64) == 403
            await ana.say("/start")
            await ana.sees(lambda m: m.text.startswith("Welcome!") and m.id != menu.id)
        thanks = [m for m in ana.shown() if m.text.startswith("Paid, thank you!")]
        assert len(thanks) == 1 and order.order_id in thanks[0].text
        assert (await shop.record(f"order:{second.order_id}")).data["paid"] is False
        [_, unpaid] = await ana.client.businesses.orders(bed.business_id)
        assert (unpaid.order_id, unpaid.status) == (order.order_id, "processing")
