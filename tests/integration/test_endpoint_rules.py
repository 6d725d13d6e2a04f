"""The rules around business sends that are not the bot's (docs/protocol.md section 15.4): a person's
own block of a business (on any app) fails the business's sends with 131026, and a business does not
write to another business."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.proto.frames import BizMeta
from passerelle.sdk import Client, Forbidden
from passerelle.sdk.schema import TextContent
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, enrolment, inbound, open_shop, self_run
from tests.integration.test_business import ADMIN, PW, made_business, with_number
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def test_a_person_who_blocked_the_business_cannot_be_reached(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (ep, base):
        bot = Bot(base, shop)
        marie = await Client.register(
            server.url,
            tmp_path / "marie",
            app="social",
            username="marie.d",
            display_name="Marie",
            password=PW,
        )
        try:
            await marie.connect()
            business = str((await marie.businesses.find("biz:velo-paris")).account_id)
            await marie.send_text(business, "bonjour")
            await receiver.wait_until(lambda r: len(inbound(r)) == 1)
            user_id = inbound(receiver)[0]["contacts"][0]["user_id"]
            text = {"recipient": user_id, "type": "text", "text": {"body": "bonjour Marie"}}
            assert (await bot.send(text)).status_code == 200
            await marie.privacy.block(business)
            refused = await bot.send(text)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == 131026, refused.text

            # Another business's endpoint cannot write to this one, declared or not.
            other = str((await made_business(http, "cafe-lyon"))["business_id"])
            number = await with_number(http, other, "+33 4 00 00 00 00")
            async with self_run(server, tmp_path / "other", await enrolment(http, other)) as (cafe, _):
                with pytest.raises(Forbidden):
                    await cafe.endpoint.client.send_content(
                        business,
                        TextContent(id="wamid.Bx1", ts=0, body="hello, business"),
                        biz=BizMeta(number=number["phone_number_id"], kind="text", wamid="wamid.Bx1"),
                    )
            assert ep.endpoint.business_id == shop.business_id
        finally:
            await marie.close()
            await bot.aclose()
