"""``passerelle demo shop``: a shop bot written with ``passerelle.bot`` sells on the three apps.

The bot is the repository's example, ``examples/shop_bot.py`` (loaded from the source checkout: the
demo runs what a reader of the example reads). As in ``passerelle demo business``, the operator
creates the business ``biz:velo-paris`` and enrols its self-run endpoint, which holds the business's
keys beside the bot; the business puts a catalog up (Graph-style API, its token). Then alice
(photo) sees the products as her app shows them (a text: photo shows no product cards), bob (chat)
orders, his app's prices ignored, and pays the server's total with the sandbox's test card; carol
(social) is declined, asks for a person and is handed off (the operator's admin API lists it);
the warehouse ships bob's order and bob reads it on his screen and in his order history. Every line
printed is checked before it is printed; then the proof of ``passerelle demo``: no text of the
conversations is in the server's files or logs (the catalog is public: its names and prices are).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from rich.text import Text

from passerelle.cli.demo.business import NAME, SLUG, BusinessScript, Operator
from passerelle.cli.demo.people import DemoFailed, Person
from passerelle.cli.demo.server import self_run_endpoint
from passerelle.sdk import Message

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "shop_bot.py"
PRODUCTS = [("bike-1", "City bike", 1250, 3), ("bell", "Bell", 300, 20)]
CARDS = {"bob": "4242424242424242", "carol": "4000000000000002"}
HUMAN = "I would like to talk to a person, please"


def shop_bot_module() -> ModuleType:
    """``examples/shop_bot.py`` of the source checkout."""
    spec = importlib.util.spec_from_file_location("passerelle_example_shop_bot", EXAMPLE)
    if spec is None or spec.loader is None or not EXAMPLE.is_file():
        raise DemoFailed(f"the shop demo runs the example bot of a source checkout: {EXAMPLE} is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ShopScript(BusinessScript):
    async def run(self) -> None:
        operator = Operator(self.url, self.admin_token)
        self.stack.push_async_callback(operator.aclose)
        await self.open_shop(operator)
        alice, bob, carol = await self.register()
        await self.browse(alice)
        paid = await self.buy(bob)
        await self.buy(carol)
        await self.ask_for_a_person(carol, operator)
        await self.ship(bob, paid)

    async def open_shop(self, operator: Operator) -> None:
        self.section("A shop on every app: its catalog, its endpoint, its bot (examples/shop_bot.py)")
        made = await operator.call(
            "POST", "/v1/admin/businesses", {"slug": SLUG, "name": NAME, "verified": True}
        )
        self.business_id = str(made["business_id"])
        path = f"/v1/admin/businesses/{self.business_id}"
        account = await operator.call("POST", f"{path}/accounts", {"name": "main"})
        number = await operator.call(
            "POST", f"{path}/numbers", {"waba_id": account["waba_id"], "display_number": "+33 1 23 45 67 89"}
        )
        token = str((await operator.call("POST", f"{path}/tokens", {"label": "bot"}))["token"])
        async with httpx.AsyncClient(
            base_url=self.url + "/v26.0", headers={"Authorization": f"Bearer {token}"}, timeout=15
        ) as graph:
            made = await graph.post(f"/{account['waba_id']}/product_catalogs", json={"name": "Vélos"})
            self.catalog = str(made.json()["id"])
            for retailer_id, name, price, stock in PRODUCTS:
                product = {"retailer_id": retailer_id, "name": name, "price": price, "currency": "EUR"}
                put = await graph.post(f"/{self.catalog}/products", json={**product, "inventory": stock})
                if put.status_code != 200:
                    raise DemoFailed(f"the catalog refused {retailer_id}: {put.text}")
        listing = ", ".join(f"{name} {price / 100:.2f} EUR" for _, name, price, _ in PRODUCTS)
        self.console.print(f"✓ {NAME}'s catalog {self.catalog}: {listing} (public, like its profile)")
        secret = {"app_secret": "shop-demo-" + self.catalog, "verify_token": "verify-" + self.catalog}
        self.shop: Any = shop_bot_module().make_shop(
            catalog_id=self.catalog,
            products=[p[0] for p in PRODUCTS],
            state_path=self.business_dir.parent / "shop-bot.sqlite3",
            base_url="",
            phone_number_id=number["phone_number_id"],
            token=token,
            **secret,
        )
        await self.shop.bot.start()
        self.stack.push_async_callback(self.shop.bot.aclose)
        hook = {"callback_url": self.shop.bot.url, **{k: secret[k] for k in ("verify_token", "app_secret")}}
        await operator.call("PUT", f"{path}/webhook", hook)
        enrolment = await operator.call("POST", f"{path}/enrolments", {"mode": "self_run"})
        self.shop.bot.api.base_url = await self.stack.enter_async_context(
            self_run_endpoint(self.url, self.business_dir, enrolment["token"])
        )
        self.console.print(f"✓ the shop bot's webhook {self.shop.bot.url} answered the server's handshake")

    async def writes(self, person: Person, text: str, *, secret: bool = True) -> str:
        account = str((await person.client.businesses.find(f"biz:{SLUG}")).account_id)
        await person.client.send_text(account, text)
        if secret:  # the proof looks for it (not for "/start" or "1": any database holds those)
            self.sent.append(text)
        self.console.print(Text.assemble(self.who(person), " → ", self.business(), ": ", text))
        return account

    async def sees(self, person: Person, account: str, wanted: Any, *, secret: bool = True) -> Message:
        """Wait for the business's message; print it. ``secret``: a text of the conversation, which
        the proof looks for (a product list is not: the catalog is public)."""
        shown = await self.shown(person, account, wanted)
        if secret:
            self.sent.append(shown.text)
        for line in shown.text.splitlines():
            self.console.print(Text.assemble(self.business(), " → ", self.who(person), ": ", line))
        return shown

    async def browse(self, alice: Person) -> None:
        self.section("alice on photo sees the products (her app shows buttons and products as text)")
        account = await self.writes(alice, "/start", secret=False)
        await self.sees(alice, account, lambda m: m.text.startswith("Welcome!"))
        await self.writes(alice, "1", secret=False)  # photo shows no buttons: the first one, by number
        listing = await self.sees(alice, account, lambda m: m.text.startswith("Our shop"), secret=False)
        shown = [(p.name, p.price_text) for p in alice.client.businesses.shown_products(listing)]
        if shown != [("City bike", "12.50 EUR"), ("Bell", "3.00 EUR")]:
            raise DemoFailed(f"alice was shown {shown}")

    async def buy(self, person: Person) -> str:
        self.section(f"{person.name} orders on {self.styles.names.get(person.app, person.app)} and pays")
        account = await self.writes(person, "Hello! I would like to order")
        await self.sees(person, account, lambda m: m.text == "Send /start for the menu.")
        cart = {"bike-1": 1, "bell": 1} if person.name == "bob" else {"bell": 1}
        order = await person.client.businesses.order(
            self.business_id, self.catalog, cart, shown_prices={"bike-1": 1, "bell": 1}
        )
        self.note(
            f"{person.name}'s app sends the cart {cart} with prices of 0.01 EUR: the server prices it"
            f" from the catalog, {order.total / 100:.2f} {order.currency} (order {order.order_id})"
        )
        ask = await self.sees(person, account, lambda m: order.order_id in m.text)
        to_pay = await person.client.businesses.payment_request(ask, self.business_id)
        if to_pay is None or to_pay.total != order.total:
            raise DemoFailed(f"{person.name} cannot find the order the bot asks to pay")
        payment = await person.client.businesses.pay(order.order_id, CARDS[person.name])
        self.note(f"{person.name} pays with the sandbox's card {CARDS[person.name]}: {payment.status}")
        answer = "Paid, thank you!" if payment.status == "succeeded" else "Your card was declined."
        await self.sees(person, account, lambda m: m.text.startswith(answer))
        return order.order_id

    async def ask_for_a_person(self, carol: Person, operator: Operator) -> None:
        self.section("carol asks for a person: the bot hands her over")
        account = await self.writes(carol, HUMAN)
        await self.sees(carol, account, lambda m: m.text.startswith("A person from our team"))
        listed = await operator.call("GET", f"/v1/admin/businesses/{self.business_id}/handoffs")
        [handoff] = listed["handoffs"]
        self.note(
            f"the operator's admin API (the agents' inbox to come): {handoff['status']}, “{handoff['summary']}”"
        )

    async def ship(self, bob: Person, order_id: str) -> None:
        self.section("The warehouse ships bob's order")
        await self.shop.ship(order_id, note="Colissimo 8X123")
        account = str((await bob.client.businesses.find(f"biz:{SLUG}")).account_id)
        await self.sees(bob, account, lambda m: bob.client.businesses.order_update(m) is not None)
        [order, *_] = await bob.client.businesses.orders(self.business_id)
        payments = ", ".join(p.status for p in order.payments)
        self.note(
            f"bob's order history, from the server: {order.order_id} {order.status} (payments: {payments})"
        )
        self.sent.append("Colissimo 8X123")
