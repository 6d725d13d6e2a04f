"""``failed`` statuses (docs/business.md section 9): a business's message the server accepted but
no device of the person took before it expired (the person stayed offline past the app's retention,
or deleted their account meanwhile; the same holds when they removed every device) reaches the bot as a Cloud
API ``statuses`` webhook with ``status: failed``, ``errors`` and the person's ids; a message that was
delivered does not fail; one sent before an endpoint restart fails after it, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from passerelle.sdk import Client
from passerelle.server.endpoint.undelivered import MAX_PENDING, PENDING_FILE, PendingFile
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, enrolment, events, inbound, open_shop, self_run, statuses
from tests.integration.test_business import ADMIN, PW
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"
DAY_S = 24 * 3600


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


def status_of(bot: Receiver, wamid: str, status: str) -> dict[str, Any] | None:
    for value in events(bot):
        for s in value.get("statuses", []):
            if s["id"] == wamid and s["status"] == status:
                return value
    return None


async def test_a_message_no_device_took_before_it_expired_fails(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (
        _ep,
        base,
    ):
        bot = Bot(base, shop)
        paul = await Client.register(
            server.url, tmp_path / "paul", app="photo", handle="paul", display_name="Paul", password=PW
        )
        lea = await Client.register(
            server.url, tmp_path / "lea", app="social", username="lea.x", display_name="Lea", password=PW
        )
        zoe = await Client.register(
            server.url, tmp_path / "zoe", app="social", username="zoe.x", display_name="Zoe", password=PW
        )
        try:
            account = str((await lea.businesses.find("biz:velo-paris")).account_id)
            for n, who in enumerate((paul, lea, zoe), start=1):
                await who.connect()
                await who.send_text(account, "bonjour")
                await receiver.wait_until(lambda r, n=n: len(inbound(r)) == n)  # type: ignore[misc]
            paul_ids, lea_ids, zoe_ids = (inbound(receiver)[i]["contacts"][0] for i in (0, 1, 2))
            await paul.close()  # Paul goes offline and stays so
            await zoe.close()  # Zoe too, then deletes her account (below)

            to_paul = await bot.send(
                {"to": paul_ids["wa_id"], "type": "text", "text": {"body": "Votre vélo ?"}}
            )
            assert to_paul.status_code == 200, to_paul.text
            paul_wamid = to_paul.json()["messages"][0]["id"]
            to_lea = await bot.send(
                {"to": lea_ids["wa_id"], "type": "text", "text": {"body": "Votre vélo ?"}}
            )
            lea_wamid = to_lea.json()["messages"][0]["id"]
            await receiver.wait_until(lambda r: status_of(r, lea_wamid, "delivered") is not None)
            assert status_of(receiver, paul_wamid, "sent") is not None
            to_zoe = await bot.send(
                {"to": zoe_ids["wa_id"], "type": "text", "text": {"body": "Votre vélo ?"}}
            )
            zoe_wamid = to_zoe.json()["messages"][0]["id"]
            zoe = await Client.open(tmp_path / "zoe")  # not connected: her message is not taken
            await zoe.privacy.erase(password=PW)
            await zoe.close()

            # A month later (apps keep an undelivered message 30 days): Lea writes again and is
            # answered; the server forgot Paul's message without any of his devices taking it.
            server.clock.advance(31 * DAY_S)
            await lea.send_text(account, "encore moi")
            await receiver.wait_until(lambda r: len(inbound(r)) == 4)
            again = await bot.send({"to": lea_ids["wa_id"], "type": "text", "text": {"body": "Oui ?"}})
            assert again.status_code == 200, again.text

            await receiver.wait_until(lambda r: status_of(r, paul_wamid, "failed") is not None)
            value = status_of(receiver, paul_wamid, "failed")
            assert value is not None
            failed = value["statuses"][0]
            assert failed["recipient_id"] == paul_ids["wa_id"]
            assert failed["recipient_user_id"] == paul_ids["user_id"]
            assert value["contacts"] == [{"wa_id": paul_ids["wa_id"], "user_id": paul_ids["user_id"]}]
            assert value["metadata"]["phone_number_id"] == shop.number_id
            (error,) = failed["errors"]
            assert (error["code"], error["title"], error["message"]) == (
                131026,
                "Message undeliverable",
                "Message undeliverable",
            )
            assert "No device of the person received the message" in error["error_data"]["details"]
            # Zoe's account is gone, and her message with it: failed too, with the ids she had.
            await receiver.wait_until(lambda r: status_of(r, zoe_wamid, "failed") is not None)
            gone = status_of(receiver, zoe_wamid, "failed")
            assert gone is not None and gone["statuses"][0]["recipient_id"] == zoe_ids["wa_id"]
            assert gone["statuses"][0]["errors"][0]["code"] == 131026
            # Lea's messages were delivered: none of them fails.
            failed_ids = {s["id"] for s in statuses(receiver) if s["status"] == "failed"}
            assert failed_ids == {paul_wamid, zoe_wamid}
        finally:
            await lea.close()
            await paul.close()
            await zoe.close()
            await bot.aclose()


async def test_a_failed_status_survives_an_endpoint_restart_and_comes_once(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    """The messages waiting for a receipt are in the endpoint's data directory
    (``undelivered.db``): one sent before a restart still fails after it, once."""
    shop = await open_shop(http, receiver)
    data_dir = tmp_path / "endpoint"
    paul = await Client.register(
        server.url, tmp_path / "paul", app="photo", handle="paul", display_name="Paul", password=PW
    )
    lea = await Client.register(
        server.url, tmp_path / "lea", app="social", username="lea.x", display_name="Lea", password=PW
    )
    try:
        async with self_run(server, data_dir, await enrolment(http, shop.business_id)) as (_ep, base):
            bot = Bot(base, shop)
            account = str((await lea.businesses.find("biz:velo-paris")).account_id)
            for n, who in enumerate((paul, lea), start=1):
                await who.connect()
                await who.send_text(account, "bonjour")
                await receiver.wait_until(lambda r, n=n: len(inbound(r)) == n)  # type: ignore[misc]
            paul_ids = inbound(receiver)[0]["contacts"][0]
            await paul.close()  # Paul goes offline and stays so
            to_paul = await bot.send(
                {
                    "to": paul_ids["wa_id"],
                    "type": "text",
                    "text": {"body": "Votre vélo ?"},
                    "biz_opaque_callback_data": "order-17",
                }
            )
            assert to_paul.status_code == 200, to_paul.text
            paul_wamid = to_paul.json()["messages"][0]["id"]
            await receiver.wait_until(lambda r: status_of(r, paul_wamid, "sent") is not None)
            await bot.aclose()

        # The endpoint is down while the month passes; it starts again on its data directory.
        server.clock.advance(31 * DAY_S)
        async with self_run(server, data_dir, None) as (_ep, base):
            bot = Bot(base, shop)
            await lea.send_text(account, "encore moi")  # the window opens again; the answer's
            await receiver.wait_until(lambda r: len(inbound(r)) == 3)  # `sent` frame gives the
            lea_ids = inbound(receiver)[1]["contacts"][0]  # server's time
            again = await bot.send({"to": lea_ids["wa_id"], "type": "text", "text": {"body": "Oui ?"}})
            assert again.status_code == 200, again.text
            await receiver.wait_until(lambda r: status_of(r, paul_wamid, "failed") is not None)
            value = status_of(receiver, paul_wamid, "failed")
            assert value is not None
            failed = value["statuses"][0]
            assert (failed["recipient_id"], failed["recipient_user_id"]) == (
                paul_ids["wa_id"],
                paul_ids["user_id"],
            )
            assert failed["biz_opaque_callback_data"] == "order-17"
            assert failed["errors"][0]["code"] == 131026
            # Once stored for the bot, it leaves the endpoint's file.
            journal = PendingFile(data_dir / PENDING_FILE)
            async with asyncio.timeout(5):
                while True:
                    kept = [p.sent.wamid for _, p in (await journal.load(MAX_PENDING))[1]]
                    if paul_wamid not in kept:
                        break
                    await asyncio.sleep(0.05)
            await journal.close()
            await bot.aclose()

        # A second restart does not post it again.
        async with self_run(server, data_dir, None) as (_ep, base):
            bot = Bot(base, shop)
            last = await bot.send({"to": lea_ids["wa_id"], "type": "text", "text": {"body": "À bientôt"}})
            last_wamid = last.json()["messages"][0]["id"]
            await receiver.wait_until(lambda r: status_of(r, last_wamid, "delivered") is not None)
            await bot.aclose()
        failures = [s for s in statuses(receiver) if s["status"] == "failed"]
        assert [s["id"] for s in failures] == [paul_wamid]
    finally:
        await lea.close()
        await paul.close()
