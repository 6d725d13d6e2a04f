"""A shop bot written with ``passerelle.bot``: one bot selling on every app (docs/bots.md section 10,
docs/commerce.md).

What a customer gets, on ``chat``, ``photo`` or ``social``:

- ``/start``: three buttons (numbered on ``photo``, which shows no buttons): the products, one's
  orders, a person.
- ``shop`` (or the first button): the catalog's products as a ``product_list`` (``photo`` shows its
  text fallback: names and prices).
- a cart sent from the catalog (``on_order``): a payment request (``order_details``) naming the
  server's order. The bot never computes or trusts a price: the server priced the cart from the
  catalog, and the customer's SDK pays the server's total.
- the payment's status (``on_payment``): thanks, or "try another card". Handled once per order even
  when the webhook is posted again or replayed after a restart (the order's record says it is paid).
- one customer on every app: a person who linked her accounts on several apps and shares that
  identity with the shop (docs/business.md section 3.1) is one ``user_id`` to the bot whichever app
  she writes from, so one conversation state (her orders), one order history, and a reply (the
  shipping news too) reaches the app she last wrote or ordered from. The bot has no code of its own
  for it.
- "human", "agent", "person" or "help": a person takes over, with a summary of the customer's
  orders; the bot stays silent for that customer until the person hands back or resolves.
- ``Shop.ship(order_id)`` (the warehouse's call): the order moves to ``shipped`` on the server (every
  device of the payer sees it in ``client.businesses.orders``) and the news goes, as an
  ``order_status`` message, to the customer who ordered (on the app she last wrote or ordered from).

Run it against a business endpoint (self-run or hosted), with the business's system-user token and
webhook secrets, and register ``http://<host>:8080/webhook`` as the business's webhook::

    PASSERELLE_BOT_URL=http://127.0.0.1:8081 PASSERELLE_BOT_NUMBER=1012345678901234 \\
    PASSERELLE_BOT_TOKEN=pbt_… PASSERELLE_BOT_SECRET=… PASSERELLE_BOT_VERIFY=… \\
    PASSERELLE_BOT_CATALOG=123456789012345 python examples/shop_bot.py

Its test is the cross-app journey, ``tests/integration/test_journey.py``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from passerelle.bot import Bot, Context, Order, Payment, State, filters

HUMAN = filters.regex(r"(?i)\b(human|agent|person|help)\b")


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency}"  # the example's currencies have two minor digits


class Shop:
    """The bot and the shop's own records, kept in the bot's state file beside the conversations
    (as the "business" ``RECORDS``, under keys that are not customers: ``order:<id>``)."""

    RECORDS = "shop-records"

    def __init__(self, bot: Bot, catalog_id: str) -> None:
        self.bot = bot
        self.catalog_id = catalog_id
        self._records = asyncio.Lock()

    async def record(self, key: str) -> State:
        return await self.bot.states.load(self.RECORDS, key)

    async def keep(self, key: str, record: State) -> None:
        await self.bot.states.save(self.RECORDS, key, record)

    async def ship(self, order_id: str, *, note: str = "") -> None:
        """The order left the warehouse: the server's record, then the customer's conversation."""
        await self.bot.api.call("POST", "order_status", number=order_id, json={"status": "shipped"})
        order = await self.record(f"order:{order_id}")
        status = {"status": "shipped", "description": note} if note else {"status": "shipped"}
        message = {
            "type": "interactive",
            "interactive": {
                "type": "order_status",
                "body": {"text": f"Your order is on its way. {note}".strip()},
                "action": {
                    "name": "review_order",
                    "parameters": {"reference_id": order_id, "order": status},
                },
            },
        }
        await self.bot.api.send(order.data["customer"], message)

    async def summary(self, ctx: Context) -> str:
        lines = [f"{ctx.customer.name or ctx.customer.user_id} asks for a person."]
        for order_id in ctx.state.data.get("orders", []):
            order = (await self.record(f"order:{order_id}")).data
            paid = "paid" if order.get("paid") else "not paid"
            lines.append(f"Order {order_id}: {money(order['total'], order['currency'])}, {paid}.")
        return " ".join(lines)


def make_shop(*, catalog_id: str, products: list[str], state_path: str | Path, **options: Any) -> Shop:
    """The shop bot. ``products``: the retailer ids it shows; ``options``: ``Bot``'s (endpoint,
    number, token, webhook secrets)."""

    bot = Bot(**options, state_path=state_path)
    shop = Shop(bot, catalog_id)

    async def send(ctx: Context, message: dict[str, Any]) -> None:
        await ctx.api.send(ctx.customer.user_id, message, number=ctx.update.phone_number_id)

    # First: a customer who asks for a person gets one, whatever else the message says.
    @bot.on_message(HUMAN)
    @bot.on_choice(filters.choice("human"))
    async def hand_over(ctx: Context) -> None:
        await ctx.hand_off(await shop.summary(ctx), reason="requested")
        await ctx.reply("A person from our team will answer you here.")

    @bot.on_message(filters.command("start"))
    async def start(ctx: Context) -> None:
        await ctx.reply_buttons(
            "Welcome! What would you like?",
            {"shop": "See the products", "orders": "My orders", "human": "Talk to a person"},
        )

    @bot.on_message(filters.equals("shop", "catalog"))
    @bot.on_choice(filters.choice("shop"))
    async def show(ctx: Context) -> None:
        listing = {
            "type": "interactive",
            "interactive": {
                "type": "product_list",
                "header": {"type": "text", "text": "Our shop"},
                "body": {"text": "Add what you like to your cart, then send it."},
                "action": {
                    "catalog_id": catalog_id,
                    "sections": [
                        {"title": "Products", "product_items": [{"product_retailer_id": p} for p in products]}
                    ],
                },
            },
        }
        await send(ctx, listing)

    @bot.on_choice(filters.choice("orders"))
    async def orders(ctx: Context) -> None:
        mine = ctx.state.data.get("orders", [])
        await ctx.reply("Your orders: " + (", ".join(mine) if mine else "none yet."))

    @bot.on_order()
    async def ordered(ctx: Context) -> None:
        order = ctx.update
        if not isinstance(order, Order) or not order.order_id or order.total is None or not order.currency:
            return  # a cart without the server's order and total: nothing to ask payment for
        async with shop._records:
            record = State(data={"customer": ctx.customer.user_id})
            record.data.update(total=order.total[0], currency=order.currency, paid=False)
            await shop.keep(f"order:{order.order_id}", record)
        ctx.state.data.setdefault("orders", []).append(order.order_id)
        pay = {
            "type": "interactive",
            "interactive": {
                "type": "order_details",
                "body": {"text": f"Order {order.order_id}: {money(order.total[0], order.currency)}."},
                "action": {
                    "name": "review_and_pay",
                    "parameters": {
                        "reference_id": order.order_id,
                        "type": "physical-goods",
                        "currency": order.currency,
                        "total_amount": {"value": order.total[0], "offset": order.total[1]},
                    },
                },
            },
        }
        await send(ctx, pay)

    @bot.on_payment()
    async def paid(ctx: Context) -> None:
        payment = ctx.update
        assert isinstance(payment, Payment)
        key = f"order:{payment.reference}"
        async with shop._records:
            record = await shop.record(key)
            if not record.data or record.data.get("paid"):
                return  # not our order, or already thanked: a replayed or repeated webhook
            if payment.status == "failed":
                await ctx.reply("Your card was declined. You can pay again with another one.")
                return
            if payment.status != "succeeded":
                return
            record.data["paid"] = True
            await shop.keep(key, record)
        await ctx.reply(f"Paid, thank you! We are preparing order {payment.reference}.")

    @bot.on_handoff()
    async def back(ctx: Context) -> None:
        if ctx.state.handoff is None:
            await ctx.reply("The shop bot is back. Send /start for the menu.")

    @bot.on_message()
    async def anything(ctx: Context) -> None:
        await ctx.reply("Send /start for the menu.")

    return shop


def main() -> None:
    env = os.environ
    shop = make_shop(
        catalog_id=env["PASSERELLE_BOT_CATALOG"],
        products=[p for p in env.get("PASSERELLE_BOT_PRODUCTS", "").split(",") if p],
        state_path=env.get("PASSERELLE_BOT_STATE", "shop-bot.sqlite3"),
        base_url=env["PASSERELLE_BOT_URL"],
        phone_number_id=env["PASSERELLE_BOT_NUMBER"],
        token=env["PASSERELLE_BOT_TOKEN"],
        app_secret=env["PASSERELLE_BOT_SECRET"],
        verify_token=env["PASSERELLE_BOT_VERIFY"],
    )
    shop.bot.run(port=int(env.get("PASSERELLE_BOT_PORT", "8080")))


if __name__ == "__main__":
    main()
