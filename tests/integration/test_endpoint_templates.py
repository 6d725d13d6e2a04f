"""Template sends through a business endpoint (docs/business.md sections 5, 6 and 8): the bot sends
``type: template``; the endpoint reads the template from the server, renders it with the bot's
parameters (132000 on a mismatch, 132001 for a template that does not exist or is not approved),
encrypts the rendered text and buttons to the person and declares the template; the server lets it
through outside the window only with the person's consent (131047) and not after a STOP (131050).
The person's app shows the rendered template, and a quick-reply tap reaches the bot as a ``button``
message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import (
    Bot,
    Shop,
    enrolment,
    events,
    inbound,
    marie_on_social,
    next_message,
    open_shop,
    self_run,
)
from tests.integration.test_business import ADMIN, AUTH
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"

SPRING_SALE: dict[str, Any] = {
    "name": "spring_sale",
    "language": "fr",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Soldes de printemps"},
        {
            "type": "BODY",
            "text": "Bonjour {{1}}, {{2}} sur tous les vélos cette semaine.",
            "example": {"body_text": [["Marie", "-20 %"]]},
        },
        {"type": "FOOTER", "text": "Vélo Paris"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "J'en profite"},
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
            ],
        },
    ],
}
ORDER_READY: dict[str, Any] = {
    "name": "order_ready",
    "language": "fr",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Votre commande {{1}} est prête.",
            "example": {"body_text": [["A-12"]]},
        }
    ],
}
HELD_BACK: dict[str, Any] = {**ORDER_READY, "name": "held_back"}


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def made_template(http: httpx.AsyncClient, shop: Shop, body: dict[str, Any], *, approve: bool) -> None:
    made = await http.post(
        f"/v22.0/{shop.waba_id}/message_templates",
        json=body,
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    assert made.status_code == 200, made.text
    if approve and made.json()["status"] != "APPROVED":
        answer = await http.post(f"/v1/admin/templates/{made.json()['id']}/approve", headers=AUTH)
        assert answer.status_code == 200, answer.text


def template(name: str, *parameters: str, buttons: dict[int, str] | None = None) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
    ]
    for index, payload in (buttons or {}).items():
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": index,
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    return {
        "type": "template",
        "template": {"name": name, "language": {"code": "fr"}, "components": components},
    }


def code(answer: httpx.Response) -> int:
    assert answer.status_code == 400, answer.text
    return int(answer.json()["error"]["code"])


async def test_template_sends_outside_the_window_follow_consent_and_stop(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    await made_template(http, shop, SPRING_SALE, approve=True)
    await made_template(http, shop, ORDER_READY, approve=True)
    await made_template(http, shop, HELD_BACK, approve=False)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (
        _ep,
        base,
    ):
        bot = Bot(base, shop)
        marie = await marie_on_social(server, tmp_path / "marie")
        try:
            await marie.connect()
            messages = aiter(marie.messages())
            business = await marie.businesses.find("biz:velo-paris")
            account = str(business.account_id)
            await marie.send_text(account, "bonjour")
            await receiver.wait_until(lambda r: len(inbound(r)) == 1)
            user_id = inbound(receiver)[0]["contacts"][0]["user_id"]
            server.clock.advance(25 * 3600)  # the window is closed: only templates, with consent
            sale = {
                "recipient": user_id,
                **template("spring_sale", "Marie", "-30 %", buttons={0: "go", 1: "stop"}),
            }

            assert code(await bot.send(sale)) == 131047  # not opted in
            await marie.businesses.opt_in(business.business_id, "marketing")
            await marie.businesses.opt_in(business.business_id, "utility")
            sent = await bot.send(sale)
            assert sent.status_code == 200, sent.text
            shown = await next_message(messages)
            assert shown.text == (
                "Soldes de printemps\nBonjour Marie, -30 % sur tous les vélos cette semaine.\nVélo Paris\n"
                "[J'en profite]\n[Stop promotions]"
            )
            assert shown.client_id == sent.json()["messages"][0]["id"]
            assert marie.businesses.choices(shown) == {"go": "J'en profite", "stop": "Stop promotions"}

            # A quick-reply tap reaches the bot as the Cloud API's ``button`` message.
            await marie.businesses.tap(shown, "go")
            await receiver.wait_until(lambda r: len(inbound(r)) == 2)
            tapped = inbound(receiver)[1]["messages"][0]
            assert tapped["type"] == "button" and tapped["button"] == {
                "payload": "go",
                "text": "J'en profite",
            }
            server.clock.advance(25 * 3600)

            # Parameters that do not match the placeholders, an unknown or a pending template.
            assert code(await bot.send({"recipient": user_id, **template("spring_sale", "Marie")})) == 132000
            assert code(await bot.send({"recipient": user_id, **template("no_such", "x")})) == 132001
            assert code(await bot.send({"recipient": user_id, **template("held_back", "A-12")})) == 132001

            # STOP typed on the person's device: the SDK revokes marketing before the message goes;
            # the next marketing template fails at once, a utility template still passes.
            await marie.send_text(account, "  Stop ! ")
            await receiver.wait_until(
                lambda r: any(m["messages"][0].get("text", {}).get("body") == "  Stop ! " for m in inbound(r))
            )
            # The STOP itself opened the window: a reply in it still goes, a marketing template not.
            answer = {"recipient": user_id, "type": "text", "text": {"body": "C'est noté."}}
            in_window = await bot.send(answer)
            assert in_window.status_code == 200, in_window.text
            assert code(await bot.send(sale)) == 131050
            server.clock.advance(25 * 3600)
            assert code(await bot.send(sale)) == 131050
            ready = await bot.send({"recipient": user_id, **template("order_ready", "A-12")})
            assert ready.status_code == 200, ready.text
            ledger = (await marie.businesses.consents()).ledger
            assert (ledger[-1].scope, ledger[-1].state, ledger[-1].source) == (
                "marketing",
                "revoked",
                "keyword",
            )
            await receiver.wait_until(lambda r: any(v.get("user_preferences") for v in events(r)))
            told = next(v["user_preferences"][0] for v in events(receiver) if v.get("user_preferences"))
            assert (told["category"], told["value"]) == ("marketing_messages", "stop")
            # The bot still got the STOP as the person's text (the Cloud API does the same).
            await receiver.wait_until(
                lambda r: any(m["messages"][0].get("text", {}).get("body") == "  Stop ! " for m in inbound(r))
            )
        finally:
            await marie.close()
            await bot.aclose()


async def test_the_stop_promotions_quick_reply_revokes_marketing(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    await made_template(http, shop, SPRING_SALE, approve=True)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (
        _ep,
        base,
    ):
        bot = Bot(base, shop)
        marie = await marie_on_social(server, tmp_path / "marie")
        try:
            await marie.connect()
            messages = aiter(marie.messages())
            business = await marie.businesses.find("biz:velo-paris")
            await marie.businesses.opt_in(business.business_id, "marketing")
            await marie.send_text(str(business.account_id), "bonjour")
            await receiver.wait_until(lambda r: len(inbound(r)) == 1)
            user_id = inbound(receiver)[0]["contacts"][0]["user_id"]
            sale = {"recipient": user_id, **template("spring_sale", "Marie", "-30 %")}
            assert (await bot.send(sale)).status_code == 200
            shown = await next_message(messages)
            # Without payloads, a quick reply's payload is its label (as on the Cloud API).
            assert marie.businesses.choices(shown)["Stop promotions"] == "Stop promotions"
            await marie.businesses.tap(shown, "Stop promotions")
            await receiver.wait_until(lambda r: len(inbound(r)) == 2)
            assert inbound(receiver)[1]["messages"][0]["button"]["payload"] == "Stop promotions"
            ledger = (await marie.businesses.consents()).ledger
            assert (ledger[-1].scope, ledger[-1].state, ledger[-1].source) == (
                "marketing",
                "revoked",
                "button",
            )
            server.clock.advance(25 * 3600)
            assert code(await bot.send(sale)) == 131050
        finally:
            await marie.close()
            await bot.aclose()
