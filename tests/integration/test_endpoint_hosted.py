"""A hosted business endpoint (docs/business.md section 4): the operator runs it inside the server;
customers' apps see "hosted" from the statement the endpoint signed; the bot points at the server
itself, and its webhooks come from the server's outbox. The same endpoint code as self-run."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.cli.chat.businesses import BusinessCommands
from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, inbound, next_message, open_shop, statuses
from tests.integration.test_business import ADMIN, AUTH, PW
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(
    admin_token=ADMIN, operator_name="Passerelle Demo", webhook_backoff_base_s=0.02, webhook_backoff_cap_s=0.1
)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def test_customers_on_three_apps_talk_to_a_hosted_business(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    hosted = await http.post(f"/v1/admin/businesses/{shop.business_id}/endpoint", headers=AUTH)
    assert hosted.status_code == 201, hosted.text
    assert hosted.json()["mode"] == "hosted" and hosted.json()["statement"]
    bot = Bot(server.url, shop)  # the bot points at the server itself
    # A second hosted business, for the ids at the end (its endpoint signs its statement now, by the
    # real clock, before the test moves the server's).
    cafe = await open_shop(http, receiver, slug="cafe-lyon", display="+33 4 72 00 00 00")
    made = await http.post(f"/v1/admin/businesses/{cafe.business_id}/endpoint", headers=AUTH)
    assert made.status_code == 201, made.text
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    marie = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", display_name="Marie D", password=PW
    )
    chloe = await server.register_phone(tmp_path / "chloe", "+33612345678", display_name="Chloé")
    people = {"Alice": alice, "Marie D": marie, "Chloé": chloe}
    try:
        for person in people.values():
            await person.connect()
        found = await chloe.businesses.find("+33 1 23 45 67 89")
        hosting = await chloe.businesses.hosting(found)
        assert hosting.verified and hosting.mode == "hosted" and hosting.operator == "Passerelle Demo"
        said: list[str] = []  # and ``passerelle chat`` says so
        await BusinessCommands(chloe, lambda line: said.append(str(line))).business("biz:velo-paris")
        assert any("hosted by Passerelle Demo" in line for line in said), said
        business = str(found.account_id)
        streams = {name: person.messages() for name, person in people.items()}
        for name, person in people.items():
            await person.send_text(business, f"Salut de {name}")
        await receiver.wait_until(lambda r: len(inbound(r)) >= 3)
        got = {v["contacts"][0]["profile"]["name"]: v for v in inbound(receiver)}
        assert set(got) == set(people)
        for name, value in got.items():
            assert value["messages"][0]["text"]["body"] == f"Salut de {name}"
            user_id = value["contacts"][0]["user_id"]
            sent = await bot.send({"recipient": user_id, "type": "text", "text": {"body": f"Merci {name}"}})
            assert sent.status_code == 200, sent.text
            shown = await next_message(streams[name])
            assert shown.text == f"Merci {name}" and shown.sender == business
        await receiver.wait_until(lambda r: sum(s["status"] == "delivered" for s in statuses(r)) >= 3)
        # Bad token and malformed body: the server's Graph answers, as for the rest of its API.
        refused = await bot.http.post(
            f"/{shop.number_id}/messages",
            json={"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "x"}},
            headers={"Authorization": "Bearer pbt_wrong"},
        )
        assert refused.status_code == 401 and refused.json()["error"]["code"] == 190
        bad = await bot.send(
            {"recipient": got["Alice"]["contacts"][0]["user_id"], "type": "text", "text": {}}
        )
        assert bad.status_code == 400 and "text.body" in bad.json()["error"]["message"]
        server.clock.advance(25 * 3600)
        closed = await bot.send(
            {"recipient": got["Alice"]["contacts"][0]["user_id"], "type": "text", "text": {"body": "late"}}
        )
        assert closed.status_code == 400 and closed.json()["error"]["code"] == 131047

        # At the second business, the same person has unrelated ids,
        # in both Cloud API forms, and the first business's ids for her mean nothing to it.
        cafe_account = str((await alice.businesses.find("biz:cafe-lyon")).account_id)
        await alice.send_text(cafe_account, "Un café ?")
        await receiver.wait_until(
            lambda r: any(v["metadata"]["phone_number_id"] == cafe.number_id for v in inbound(r))
        )
        at_cafe = next(v for v in inbound(receiver) if v["metadata"]["phone_number_id"] == cafe.number_id)
        at_velo = got["Alice"]["contacts"][0]
        there = at_cafe["contacts"][0]
        assert there["profile"]["name"] == "Alice"
        assert there["wa_id"].isdigit() and re.fullmatch(r"ZZ\.\d+", there["user_id"]), there
        assert there["wa_id"] != at_velo["wa_id"] and there["user_id"] != at_velo["user_id"]
        cafe_bot = Bot(server.url, cafe)
        try:
            for recipient in ({"to": at_velo["wa_id"]}, {"recipient": at_velo["user_id"]}):
                other = await cafe_bot.send({**recipient, "type": "text", "text": {"body": "?"}})
                assert other.status_code == 400 and other.json()["error"]["code"] == 131026, other.text
            by_wa_id = await cafe_bot.send({"to": there["wa_id"], "type": "text", "text": {"body": "Oui !"}})
            assert by_wa_id.status_code == 200, by_wa_id.text
            assert by_wa_id.json()["contacts"][0]["user_id"] == there["user_id"]
        finally:
            await cafe_bot.aclose()
    finally:
        for person in people.values():
            await person.close()
        await bot.aclose()


async def test_a_self_run_business_cannot_send_through_the_server(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    shop = await open_shop(http, receiver)
    bot = Bot(server.url, shop)
    try:
        answer = await bot.send({"to": "123456789012345", "type": "text", "text": {"body": "x"}})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
        assert "own" in answer.json()["error"]["error_data"]["details"]
    finally:
        await bot.aclose()
