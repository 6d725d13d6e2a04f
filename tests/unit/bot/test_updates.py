"""The bot's parsing of webhooks and its dispatch to handlers, on payloads as the endpoint writes
them — including the commerce shapes agreed with issue 14's commerce work (``proto/cloud/commerce.py``:
the inbound ``order`` with the server's ``order_id`` and ``total_amount``, and the payment status,
``statuses[0].type == "payment"``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from passerelle.bot import Bot, Context, Order, Payment, filters
from passerelle.bot.updates import Choice, Message, parse

CONTACT = {"wa_id": "123456789012345", "user_id": "ZZ.1234567890123456789", "profile": {"name": "Alice"}}


def webhook(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "33100000001", "phone_number_id": "101"},
        "contacts": [CONTACT],
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "900", "changes": [{"field": "messages", "value": value}]}],
    }


def message(**member: Any) -> dict[str, Any]:
    return webhook(
        {"messages": [{"from": CONTACT["user_id"], "id": "wamid.1", "timestamp": "1700000000", **member}]}
    )


ORDER = message(
    type="order",
    order={
        "catalog_id": "cat1",
        "text": "pour demain",
        "product_items": [
            {"product_retailer_id": "velo-cargo", "quantity": 1, "item_price": 12.5, "currency": "EUR"}
        ],
        "order_id": "ord_1",
        "total_amount": {"value": 1250, "offset": 100},
        "currency": "EUR",
    },
)
PAYMENT = webhook(
    {
        "statuses": [
            {
                "id": "wamid.2",
                "status": "succeeded",
                "timestamp": "1700000001",
                "recipient_id": CONTACT["wa_id"],
                "recipient_user_id": CONTACT["user_id"],
                "type": "payment",
                "payment": {
                    "reference_id": "ord_1",
                    "amount": {"value": 1250, "offset": 100},
                    "currency": "EUR",
                    "transaction": {
                        "id": "tx1",
                        "type": "sandbox",
                        "status": "success",
                        "created_timestamp": 1,
                        "updated_timestamp": 2,
                        "amount": {"value": 1250, "offset": 100},
                        "currency": "EUR",
                    },
                },
            }
        ]
    }
)


def test_messages_taps_orders_and_payments_are_parsed() -> None:
    [text] = parse(message(type="text", text={"body": "/start now"}))
    assert isinstance(text, Message) and text.command == "start" and text.customer.name == "Alice"
    assert text.business == "900" and text.phone_number_id == "101"
    [tap] = parse(
        message(
            type="interactive",
            interactive={"type": "list_reply", "list_reply": {"id": "cargo", "title": "Cargo"}},
        )
    )
    assert isinstance(tap, Choice) and (tap.choice, tap.title, tap.kind) == ("cargo", "Cargo", "list_reply")
    [order] = parse(ORDER)
    assert isinstance(order, Order) and order.order_id == "ord_1" and order.total == (1250, 100)
    assert order.items[0]["product_retailer_id"] == "velo-cargo" and order.text == "pour demain"
    [paid] = parse(PAYMENT)
    assert isinstance(paid, Payment) and (paid.status, paid.reference, paid.amount) == (
        "succeeded",
        "ord_1",
        (1250, 100),
    )
    assert paid.customer.user_id == CONTACT["user_id"]
    assert parse({"entry": [{"changes": [{"field": "messages", "value": "nonsense"}]}]}) == []


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()


async def test_orders_and_payments_reach_their_handlers_once_and_only_when_signed(tmp_path: Path) -> None:
    bot = Bot(
        base_url="http://127.0.0.1:9",
        phone_number_id="101",
        token="t",
        app_secret="secret",
        verify_token="v",
        state_path=tmp_path / "s.db",
        middleware=[],
    )
    seen: list[object] = []

    @bot.on_order()
    async def ordered(ctx: Context) -> None:
        seen.append(ctx.update)
        ctx.state.data["order"] = ctx.update.order_id if isinstance(ctx.update, Order) else None

    @bot.on_payment(filters.Filter(lambda u, s: isinstance(u, Payment) and u.status == "succeeded", "paid"))
    async def paid(ctx: Context) -> None:
        seen.append(ctx.update)

    body = json.dumps(ORDER).encode()
    assert await bot.receive(body, None) == 401
    assert await bot.receive(body, "sha256=" + "0" * 64) == 403
    assert seen == []
    assert await bot.receive(body, sign(body)) == 200
    assert await bot.receive(body, sign(body)) == 200  # the same post again: not handled twice
    paying = json.dumps(PAYMENT).encode()
    assert await bot.receive(paying, sign(paying)) == 200
    assert [type(u).__name__ for u in seen] == ["Order", "Payment"]
    state = await bot.states.load("900", str(CONTACT["user_id"]))
    assert state.data == {"order": "ord_1"}
    await bot.aclose()


async def test_an_update_that_failed_is_answered_500_and_handled_when_posted_again(tmp_path: Path) -> None:
    bot = Bot(
        base_url="http://127.0.0.1:9",
        phone_number_id="101",
        token="t",
        app_secret="secret",
        verify_token="v",
        state_path=tmp_path / "s.db",
        middleware=[],  # nothing catches the handler's exception
    )
    tries: list[str] = []

    @bot.on_message(filters.text)
    async def flaky(ctx: Context) -> None:
        tries.append(ctx.text)
        ctx.state.step = "seen"
        if len(tries) == 1:
            raise RuntimeError("the database was down")

    body = json.dumps(message(type="text", text={"body": "hello"})).encode()
    assert await bot.receive(body, sign(body)) == 500
    assert (await bot.states.load("900", str(CONTACT["user_id"]))).step is None  # not saved
    assert await bot.receive(body, sign(body)) == 200
    assert await bot.receive(body, sign(body)) == 200
    assert tries == ["hello", "hello"]
    assert (await bot.states.load("900", str(CONTACT["user_id"]))).step == "seen"
    await bot.aclose()


async def test_a_state_past_its_bound_is_not_kept_and_the_update_is_not_posted_again(tmp_path: Path) -> None:
    """A customer who makes a bot's state grow past 64 KiB: the change is dropped and logged, the
    update answered 200 (a 500 would have it posted again, its replies sent again, and the business's
    later webhooks held back behind it)."""
    bot = Bot(
        base_url="http://127.0.0.1:9",
        phone_number_id="101",
        token="t",
        app_secret="secret",
        verify_token="v",
        state_path=tmp_path / "s.db",
        middleware=[],
    )
    tries: list[str] = []

    @bot.on_message(filters.text)
    async def notes(ctx: Context) -> None:
        tries.append(ctx.text)
        ctx.state.step = "noted"
        ctx.state.data["notes"] = ctx.text * 70_000

    body = json.dumps(message(type="text", text={"body": "x"})).encode()
    assert await bot.receive(body, sign(body)) == 200
    assert await bot.receive(body, sign(body)) == 200
    assert tries == ["x"]
    assert (await bot.states.load("900", str(CONTACT["user_id"]))).step is None  # not kept
    await bot.aclose()
