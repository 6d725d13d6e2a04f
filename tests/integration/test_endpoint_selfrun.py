"""A self-run business endpoint end to end (docs/business.md sections 4 to 6 and 9): customers on
``chat``, ``photo`` and ``social`` write to one business through the real SDK; the endpoint turns
their messages into signed webhooks for the bot (a real HTTP receiver checking
``X-Hub-Signature-256``); the bot (plain httpx, as pywa sends) answers through the endpoint's Cloud
API, and each kind arrives at the person's SDK as the right content. The server's database and log
never hold the texts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.cli.chat.businesses import BusinessCommands
from passerelle.proto.frames import BizMeta
from passerelle.sdk import Client, Forbidden, InvalidInput
from passerelle.sdk.schema import TextContent
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import (
    Bot,
    enrolment,
    inbound,
    next_message,
    open_shop,
    self_run,
    statuses,
)
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


async def test_customers_on_three_apps_talk_to_one_self_run_business(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    token = await enrolment(http, shop.business_id)
    async with self_run(server, tmp_path / "endpoint", token) as (_endpoint, base):
        bot = Bot(base, shop)
        alice = await Client.register(
            server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
        )
        marie = await Client.register(
            server.url,
            tmp_path / "marie",
            app="social",
            username="marie.d",
            display_name="Marie D",
            password=PW,
        )
        chloe = await server.register_phone(tmp_path / "chloe", "+33612345678", display_name="Chloé")
        people = {"Alice": alice, "Marie D": marie, "Chloé": chloe}
        try:
            for person in people.values():
                await person.connect()
            found = await alice.businesses.find("biz:velo-paris")
            business = str(found.account_id)
            assert (await alice.businesses.hosting(found)).mode == "self_run"
            said: list[str] = []  # and ``passerelle chat`` says so
            await BusinessCommands(alice, lambda line: said.append(str(line))).business("biz:velo-paris")
            assert any("end to end: the business runs its own endpoint" in line for line in said), said
            streams = {name: person.messages() for name, person in people.items()}
            for name, person in people.items():
                await person.send_text(business, f"Bonjour, ici {name}")
            await receiver.wait_until(lambda r: len(inbound(r)) >= 3)
            got = {v["contacts"][0]["profile"]["name"]: v for v in inbound(receiver)}
            assert set(got) == set(people)
            ids = {}
            for name, value in got.items():
                contact, message = value["contacts"][0], value["messages"][0]
                assert value["metadata"] == {
                    "display_phone_number": shop.display,
                    "phone_number_id": shop.number_id,
                }
                assert message["type"] == "text" and message["text"]["body"] == f"Bonjour, ici {name}"
                assert message["from"] == contact["wa_id"] and contact["user_id"].startswith("ZZ.")
                assert message["id"].startswith("wamid.")
                ids[name] = (contact["wa_id"], contact["user_id"], message["id"])
            assert all(p.status == 200 for p in receiver.posts)  # every POST was signed right

            # The bot answers each person, by user_id (pywa's default) or by wa_id.
            reply = await bot.send(
                {
                    "recipient": ids["Alice"][1],
                    "type": "text",
                    "text": {"body": "Bonjour Alice !"},
                    "context": {"message_id": ids["Alice"][2]},
                }
            )
            assert reply.status_code == 200, reply.text
            answer = reply.json()
            assert answer["messaging_product"] == "whatsapp"
            assert answer["contacts"] == [
                {"input": ids["Alice"][1], "wa_id": ids["Alice"][0], "user_id": ids["Alice"][1]}
            ]
            wamid = answer["messages"][0]["id"]
            shown = await next_message(streams["Alice"])
            assert shown.text == "Bonjour Alice !" and shown.sender == business
            assert shown.reply_to is not None and shown.reply_to.sender == alice.account_id

            # Buttons: the person sees them and taps one; the bot gets a button_reply in context.
            buttons = {
                "type": "button",
                "body": {"text": "Vous venez quand ?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "am", "title": "Le matin"}},
                        {"type": "reply", "reply": {"id": "pm", "title": "L'après-midi"}},
                    ]
                },
            }
            sent = await bot.send(
                {"to": "+" + ids["Marie D"][0], "type": "interactive", "interactive": buttons}
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["contacts"][0]["input"] == "+" + ids["Marie D"][0]
            offer = await next_message(streams["Marie D"])
            assert offer.cloud is not None and offer.cloud["interactive"]["type"] == "button"
            assert marie.businesses.choices(offer) == {"am": "Le matin", "pm": "L'après-midi"}
            assert "Vous venez quand ?" in offer.text and "[Le matin]" in offer.text
            await marie.businesses.tap(offer, "pm")
            await receiver.wait_until(
                lambda r: any(v["messages"][0]["type"] == "interactive" for v in inbound(r))
            )
            tapped = next(
                v["messages"][0] for v in inbound(receiver) if v["messages"][0]["type"] == "interactive"
            )
            assert tapped["interactive"] == {
                "type": "button_reply",
                "button_reply": {"id": "pm", "title": "L'après-midi"},
            }
            assert tapped["context"] == {"from": shop.display, "id": sent.json()["messages"][0]["id"]}

            # A list, a call-to-action URL, a location and a contact card.
            menu = {
                "type": "list",
                "body": {"text": "Nos vélos"},
                "action": {
                    "button": "Voir",
                    "sections": [
                        {
                            "title": "Ville",
                            "rows": [
                                {"id": "v1", "title": "Vélo de ville", "description": "3 vitesses"},
                                {"id": "v2", "title": "Vélo cargo"},
                            ],
                        }
                    ],
                },
            }
            assert (
                await bot.send({"recipient": ids["Chloé"][1], "type": "interactive", "interactive": menu})
            ).status_code == 200
            listed = await next_message(streams["Chloé"])
            assert chloe.businesses.choices(listed) == {"v1": "Vélo de ville", "v2": "Vélo cargo"}
            await chloe.businesses.tap(listed, "v1")
            await receiver.wait_until(
                lambda r: any(
                    v["messages"][0].get("interactive", {}).get("type") == "list_reply" for v in inbound(r)
                )
            )
            cta = {
                "type": "cta_url",
                "body": {"text": "Réservez"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Site", "url": "https://velo.example"},
                },
            }
            assert (
                await bot.send({"recipient": ids["Chloé"][1], "type": "interactive", "interactive": cta})
            ).status_code == 200
            link = await next_message(streams["Chloé"])
            assert (
                link.cloud is not None
                and link.cloud["interactive"]["action"]["parameters"]["url"] == "https://velo.example"
            )
            place = {"latitude": 48.85, "longitude": 2.35, "name": "Atelier", "address": "1 rue du Vélo"}
            assert (
                await bot.send({"recipient": ids["Chloé"][1], "type": "location", "location": place})
            ).status_code == 200
            where = await next_message(streams["Chloé"])
            assert where.cloud == {"type": "location", "location": place} and "Atelier" in where.text
            card = [{"name": {"formatted_name": "Atelier Vélo"}, "phones": [{"phone": "+33 1 00 00 00 00"}]}]
            assert (
                await bot.send({"recipient": ids["Chloé"][1], "type": "contacts", "contacts": card})
            ).status_code == 200
            contact_card = await next_message(streams["Chloé"])
            assert (
                contact_card.cloud is not None
                and contact_card.cloud["contacts"][0]["name"]["formatted_name"] == "Atelier Vélo"
            )

            # A reaction to the person's own message.
            react = {
                "recipient": ids["Alice"][1],
                "type": "reaction",
                "reaction": {"message_id": ids["Alice"][2], "emoji": "👍"},
            }
            assert (await bot.send(react)).status_code == 200
            reacted = await next_message(streams["Alice"])
            assert reacted.outgoing and reacted.reactions == ((business, "👍"),)

            # The person shares a place and a card, and reacts to the business's message.
            await chloe.businesses.share_location(business, 45.76, 4.83, name="Chez moi")
            await receiver.wait_until(
                lambda r: any(v["messages"][0]["type"] == "location" for v in inbound(r))
            )
            shared = next(
                v["messages"][0] for v in inbound(receiver) if v["messages"][0]["type"] == "location"
            )
            assert shared["location"] == {"latitude": 45.76, "longitude": 4.83, "name": "Chez moi"}
            await chloe.businesses.share_contact(business, "Léa", "+33 6 00 00 00 00")
            await receiver.wait_until(
                lambda r: any(v["messages"][0]["type"] == "contacts" for v in inbound(r))
            )
            card_in = next(
                v["messages"][0] for v in inbound(receiver) if v["messages"][0]["type"] == "contacts"
            )
            assert card_in["contacts"] == [
                {"name": {"formatted_name": "Léa"}, "phones": [{"phone": "+33 6 00 00 00 00"}]}
            ]
            await alice.content.react(shown, "❤️")
            await receiver.wait_until(
                lambda r: any(v["messages"][0]["type"] == "reaction" for v in inbound(r))
            )
            heart = next(
                v["messages"][0] for v in inbound(receiver) if v["messages"][0]["type"] == "reaction"
            )
            assert (
                heart["reaction"] == {"message_id": wamid, "emoji": "❤️"} and heart["from"] == ids["Alice"][0]
            )
            # An edit is not a new message for the bot (the Cloud API has none).
            mine = next(m for m in await marie.history(offer.conv) if m.outgoing and m.text == "L'après-midi")
            await marie.content.edit(mine, "Le soir plutôt")
            await marie.send_text(business, "fin")  # handed on after the edit, in order
            await receiver.wait_until(
                lambda r: any(v["messages"][0].get("text", {}).get("body") == "fin" for v in inbound(r))
            )

            # Statuses: sent at once, delivered by the person's device, read when they read it.
            await receiver.wait_until(
                lambda r: any(s["id"] == wamid and s["status"] == "delivered" for s in statuses(r))
            )
            await alice.mark_read(shown.conv, [shown.id] if shown.id is not None else [])
            await receiver.wait_until(
                lambda r: any(s["id"] == wamid and s["status"] == "read" for s in statuses(r))
            )
            sent_status = next(s for s in statuses(receiver) if s["id"] == wamid and s["status"] == "sent")
            assert (
                sent_status["recipient_id"] == ids["Alice"][0]
                and sent_status["recipient_user_id"] == ids["Alice"][1]
            )

            # The bot marks the person's message read (with a typing indicator).
            read = await bot.send(
                {"status": "read", "message_id": ids["Marie D"][2], "typing_indicator": {"type": "text"}}
            )
            assert read.status_code == 200 and read.json() == {"success": True}

            taps = [v for v in inbound(receiver) if v["messages"][0]["type"] == "interactive"]
            assert all("Le soir" not in str(v) for v in inbound(receiver)) and len(taps) == 2
            # Nothing the people or the bot wrote is in the server's files.
            texts = [
                "Bonjour, ici Alice",
                "Bonjour Alice !",
                "Vous venez quand ?",
                "Vélo de ville",
                "Atelier Vélo",
                "Chez moi",
            ]
            for path in server.server_files():
                data = path.read_bytes()
                for text in texts:
                    assert text.encode() not in data, f"{text!r} in {path}"
        finally:
            for person in people.values():
                await person.close()
            await bot.aclose()


async def test_the_bot_is_answered_with_the_cloud_api_errors(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (ep, base):
        bot = Bot(base, shop)
        alice = await Client.register(
            server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
        )
        try:
            await alice.connect()
            business = str((await alice.businesses.find("biz:velo-paris")).account_id)
            await alice.send_text(business, "bonjour")
            await receiver.wait_until(lambda r: len(inbound(r)) >= 1)
            user_id = inbound(receiver)[0]["contacts"][0]["user_id"]
            text = {"recipient": user_id, "type": "text", "text": {"body": "hello"}}
            assert (await bot.send(text)).status_code == 200

            # Bad or missing token: 190, HTTP 401, checked by the server.
            for headers in ({"Authorization": "Bearer pbt_not-a-token"}, {"Authorization": ""}):
                refused = await bot.http.post(
                    f"/{shop.number_id}/messages",
                    json={"messaging_product": "whatsapp", **text},
                    headers=headers,
                )
                assert refused.status_code == 401 and refused.json()["error"]["code"] == 190
            # Malformed bodies: 100, naming the field.
            cases = [
                ({"recipient": user_id, "type": "text", "text": {"body": ""}}, "text.body"),
                ({"type": "text", "text": {"body": "x"}}, "to"),
                (
                    {
                        "recipient": user_id,
                        "type": "interactive",
                        "interactive": {
                            "type": "button",
                            "body": {"text": "?"},
                            "action": {
                                "buttons": [
                                    {"type": "reply", "reply": {"id": "a", "title": "A"}},
                                    {"type": "reply", "reply": {"id": "a", "title": "B"}},
                                ]
                            },
                        },
                    },
                    "interactive.action.buttons[1].reply.id",
                ),
                ({"recipient": user_id, "type": "text", "text": {"body": "x" * 4097}}, "text.body"),
                (
                    {
                        "recipient": user_id,
                        "type": "interactive",
                        "interactive": {
                            "type": "button",
                            "body": {"text": "?"},
                            "action": {
                                "buttons": [
                                    {"type": "reply", "reply": {"id": f"b{n}", "title": "B"}}
                                    for n in range(4)
                                ]
                            },
                        },
                    },
                    "interactive.action.buttons",
                ),
                (
                    {
                        "recipient": user_id,
                        "type": "interactive",
                        "interactive": {
                            "type": "list",
                            "body": {"text": "?"},
                            "action": {
                                "button": "Voir",
                                "sections": [
                                    {"title": "S", "rows": [{"id": f"r{n}", "title": "R"} for n in range(11)]}
                                ],
                            },
                        },
                    },
                    "rows",
                ),
            ]
            for body, field in cases:
                bad = await bot.send(body)
                assert bad.status_code == 400, bad.text
                error = bad.json()["error"]
                assert error["code"] == 100 and field in error["message"], error
            # Unknown members and nulls are accepted, as the Cloud API does (bots send both); the
            # longest text goes.
            tolerant = {
                "recipient": user_id,
                "recipient_type": "individual",
                "context": None,
                "biz_opaque_callback_data": None,
                "some_future_field": {"x": 1},
                "type": "text",
                "text": {"body": "y" * 4096, "preview_url": None, "another": True},
            }
            accepted = await bot.send(tolerant)
            assert accepted.status_code == 200, accepted.text
            wrong_product = await bot.http.post(
                f"/{shop.number_id}/messages", json={"messaging_product": "x", **text}
            )
            assert (
                wrong_product.json()["error"]["code"] == 100
                and "messaging_product" in wrong_product.json()["error"]["message"]
            )
            unknown = await bot.send({"to": "999999999999999", "type": "text", "text": {"body": "x"}})
            assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 131026
            # Another number of the server (not this business's): the server refuses the token for it.
            other = await bot.http.post(
                "/100000000000009/messages", json={"messaging_product": "whatsapp", **text}
            )
            assert other.status_code >= 400 and other.json()["error"]["code"] in (100, 190)

            # The control plane is forwarded with the bot's token: the phone-number object.
            number = await bot.http.get(f"/{shop.number_id}")
            assert number.status_code == 200 and number.json()["id"] == shop.number_id

            # Only the endpoint declares; the endpoint always declares.
            with pytest.raises(Forbidden):
                await alice.send_content(
                    business,
                    TextContent(id="x1", ts=0, body="hi"),
                    biz=BizMeta(number=shop.number_id, kind="text", wamid="wamid.Bx"),
                )
            with pytest.raises(InvalidInput):
                await ep.endpoint.client.send_text(alice.account_id, "undeclared")

            # The window closes 24 hours after the person's last message: 131047.
            server.clock.advance(25 * 3600)
            closed = await bot.send(text)
            assert closed.status_code == 400 and closed.json()["error"]["code"] == 131047, closed.text
            await alice.send_text(business, "me revoilà")  # the person writes again: it opens
            assert (await bot.send(text)).status_code == 200

            # The business blocks the person (forwarded to the server): 131026 either way.
            blocked = await bot.http.post(
                f"/{shop.number_id}/block_users",
                json={"messaging_product": "whatsapp", "block_users": [{"user_id": user_id}]},
            )
            assert blocked.status_code == 200, blocked.text
            assert blocked.json()["block_users"]["added_users"][0]["user_id"] == user_id
            refused = await bot.send(text)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == 131026
            with pytest.raises(Forbidden):
                await alice.send_text(business, "let me in")
        finally:
            await alice.close()
            await bot.aclose()


async def test_incoming_messages_survive_an_endpoint_restart(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    data = tmp_path / "endpoint"
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    try:
        await alice.connect()
        async with self_run(server, data, await enrolment(http, shop.business_id)):
            business = str((await alice.businesses.find("biz:velo-paris")).account_id)
            await alice.send_text(business, "one")
            await receiver.wait_until(lambda r: len(inbound(r)) == 1)
        # The endpoint is down: the messages wait in its mailbox; the webhook receiver is down too.
        await receiver.stop()
        await alice.send_text(business, "two")
        await alice.send_text(business, "three")
        async with self_run(server, data, None):  # opens its keys again; no token needed
            await receiver.start()
            await receiver.wait_until(lambda r: len(inbound(r)) >= 3, within=20)
        bodies = [v["messages"][0]["text"]["body"] for v in inbound(receiver)]
        assert bodies[:3] == ["one", "two", "three"]
    finally:
        await alice.close()
