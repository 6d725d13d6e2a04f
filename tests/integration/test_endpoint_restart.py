"""A hosted business endpoint comes back with its server (docs/business.md section 4): after a
restart on the same data directory (and a new port) the server opens the endpoint's keys again, the
bot's sends go through, and the customer's messages sent meanwhile reach the bot."""

from __future__ import annotations

from pathlib import Path

import httpx

from passerelle.sdk import Client
from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, make_settings
from tests.integration.endpoint_harness import Bot, inbound, next_message, open_shop
from tests.integration.test_business import ADMIN, AUTH, PW
from tests.integration.webhook_receiver import Receiver

SECRET = "app-secret-0123456789abcdef"


async def test_a_hosted_endpoint_survives_a_server_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = make_settings(
        data_dir, admin_token=ADMIN, webhook_backoff_base_s=0.02, webhook_backoff_cap_s=0.1
    )
    receiver = Receiver(app_secret=SECRET)
    await receiver.start()
    try:
        async with running_server(settings, code_sender=CodeInbox()) as first:
            async with httpx.AsyncClient(base_url=first.url) as http:
                shop = await open_shop(http, receiver)
                assert (
                    await http.post(f"/v1/admin/businesses/{shop.business_id}/endpoint", headers=AUTH)
                ).status_code == 201
            alice = await Client.register(
                first.url, tmp_path / "alice", app="photo", handle="alice", password=PW
            )
            try:
                await alice.connect()
                business = str((await alice.businesses.find("biz:velo-paris")).account_id)
                await alice.send_text(business, "avant")
                await receiver.wait_until(lambda r: len(inbound(r)) == 1)
            finally:
                await alice.close()
        async with running_server(settings, code_sender=CodeInbox()) as second:
            alice = await Client.open(tmp_path / "alice", server_url=second.url)
            bot = Bot(second.url, shop)
            try:
                await alice.connect()
                stream = alice.messages()
                await alice.send_text(business, "après")
                await receiver.wait_until(lambda r: len(inbound(r)) == 2, within=20)
                user_id = inbound(receiver)[1]["contacts"][0]["user_id"]
                sent = await bot.send({"recipient": user_id, "type": "text", "text": {"body": "re-bonjour"}})
                assert sent.status_code == 200, sent.text
                assert (await next_message(stream)).text == "re-bonjour"
            finally:
                await alice.close()
                await bot.aclose()
    finally:
        await receiver.stop()
