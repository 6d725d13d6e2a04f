"""The business's limits through the real server and a self-run endpoint (docs/business.md sections
5 and 7): the number's throughput (130429), the pair rate to one person (131056) and the account's
messaging-limit tier of new people reached outside a window per rolling 24 hours (131064, until the
volume raises the tier), each as the Cloud API error envelope a bot sees on
``POST /{phone_number_id}/messages``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from passerelle.domain.business.ids import WabaId
from passerelle.domain.ids import AccountId
from passerelle.storage.business import business_store_for
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import (
    Bot,
    enrolment,
    events,
    first_words,
    marie_on_social,
    open_shop,
    self_run,
)
from tests.integration.test_business import ADMIN
from tests.integration.test_endpoint_templates import ORDER_READY, made_template, receiver, template
from tests.integration.webhook_receiver import Receiver

__all__ = ["receiver"]

pytestmark = pytest.mark.settings(
    admin_token=ADMIN,
    limits={"business_sends_per_second": 1.0, "business_pair_interval_s": 3600.0, "business_pair_burst": 2},
)


def refused(answer: httpx.Response) -> tuple[int, int]:
    error = answer.json()["error"]
    assert error["fbtrace_id"] and error["type"], answer.text
    return answer.status_code, int(error["code"])


async def test_throughput_pair_rate_and_tier_are_cloud_api_errors(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    await made_template(http, shop, ORDER_READY, approve=True)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (
        _ep,
        base,
    ):
        bot = Bot(base, shop)
        marie = await marie_on_social(server, tmp_path / "marie")
        try:
            await marie.connect()
            business, user_id = await first_words(marie, receiver)
            hello = {"recipient": user_id, "type": "text", "text": {"body": "Bonjour !"}}

            # One send per second on this number: a second one in the same second is 130429.
            assert (await bot.send(hello)).status_code == 200
            assert refused(await bot.send(hello)) == (429, 130429)
            # Two sends to one person, then one an hour: the third is 131056 (the refused send above
            # was not charged to the pair).
            server.clock.advance(1.5)
            assert (await bot.send(hello)).status_code == 200
            server.clock.advance(1.5)
            assert refused(await bot.send(hello)) == (429, 131056)

            # The window closes; marie opted in to utility, but the account already reached its tier's
            # 250 new people in the last 24 hours: a template to one more is 131064.
            server.clock.advance(25 * 3600)
            await marie.businesses.opt_in(business.business_id, "utility")
            store = business_store_for(server.running.services.store)
            now = server.clock.now_ms()
            for n in range(250):
                await store.note_reached(WabaId(shop.waba_id), AccountId(f"acc_{n:04d}"), at=now)
            ready = {"recipient": user_id, **template("order_ready", "A-12")}
            assert refused(await bot.send(ready)) == (429, 131064)
            # The volume raises the tier (the server's periodic evaluation, run here once): the bot
            # sees TIER_2K on its number, and the same template goes.
            assert await server.running.services.quality.evaluate_all() == 1
            number = await http.get(
                f"/v22.0/{shop.number_id}", headers={"Authorization": f"Bearer {shop.token}"}
            )
            assert number.json()["messaging_limit_tier"] == "TIER_2K", number.text
            # ... and is told by Meta's phone_number_quality_update (UPGRADE, the old and new tier).
            await receiver.wait_until(lambda r: any("old_limit" in v for v in events(r)))
            (upgrade,) = [v for v in events(receiver) if "old_limit" in v]
            assert upgrade == {
                "display_phone_number": shop.display,
                "event": "UPGRADE",
                "current_limit": "TIER_2K",
                "max_daily_conversations_per_business": "TIER_2K",
                "old_limit": "TIER_250",
            }
            server.clock.advance(1.5)  # past the number's one send a second
            sent = await bot.send(ready)
            assert sent.status_code == 200, sent.text
        finally:
            await marie.close()
            await bot.aclose()
