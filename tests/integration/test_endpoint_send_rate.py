"""A business endpoint's per-device send rate is sized from its business's numbers (docs/business.md
section 5, rule 6), not a person's: with the person limit at one send a second and each number's
throughput at three, the bot's third send in the same second still goes; the fourth is the number's
130429."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import (
    Bot,
    enrolment,
    first_words,
    marie_on_social,
    open_shop,
    self_run,
)
from tests.integration.test_business import ADMIN
from tests.integration.test_endpoint_limits import refused
from tests.integration.test_endpoint_templates import receiver
from tests.integration.webhook_receiver import Receiver

__all__ = ["receiver"]

pytestmark = pytest.mark.settings(
    admin_token=ADMIN,
    limits={"sends_per_second": 1.0, "send_burst": 1, "business_sends_per_second": 3.0},
)


async def test_the_endpoint_sends_at_its_numbers_throughput(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (
        _ep,
        base,
    ):
        bot = Bot(base, shop)
        marie = await marie_on_social(server, tmp_path / "marie")
        try:
            await marie.connect()
            _, user_id = await first_words(marie, receiver)
            hello = {"recipient": user_id, "type": "text", "text": {"body": "Bonjour !"}}
            for _ in range(3):  # past one person's rate (1/s): the number's 3/s
                answer = await bot.send(hello)
                assert answer.status_code == 200, answer.text
            assert refused(await bot.send(hello)) == (429, 130429)
        finally:
            await marie.close()
            await bot.aclose()
