"""A business with a self-run endpoint for the tests: the operator's setup through the admin API
(business, number, system-user token, webhook pointing at a real receiver), the endpoint enrolled
and serving its bot on a real HTTP port, and a bot that is plain httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from passerelle.proto.rest.business import PublicBusiness
from passerelle.sdk import Client
from passerelle.sdk.events import Message
from passerelle.server.endpoint.selfrun import SelfRun, SelfRunOptions
from passerelle.service.business.webhooks import WebhookPolicy
from tests.conftest import ServerHandle
from tests.integration.test_business import AUTH, PW, made_business, with_number
from tests.integration.webhook_receiver import Receiver

FAST = WebhookPolicy(backoff_base_s=0.02, backoff_cap_s=0.1, timeout_s=2.0, concurrency=1)


@dataclass
class Shop:
    business_id: str
    waba_id: str
    number_id: str
    display: str
    token: str


async def open_shop(
    http: httpx.AsyncClient, bot: Receiver, slug: str = "velo-paris", display: str = "+33 1 23 45 67 89"
) -> Shop:
    business = str((await made_business(http, slug))["business_id"])
    number = await with_number(http, business, display)
    token = await http.post(f"/v1/admin/businesses/{business}/tokens", json={"label": "bot"}, headers=AUTH)
    hook = {"callback_url": bot.url, "verify_token": bot.verify_token, "app_secret": bot.app_secret}
    answer = await http.put(f"/v1/admin/businesses/{business}/webhook", json=hook, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return Shop(
        business_id=business,
        waba_id=number["waba_id"],
        number_id=number["phone_number_id"],
        display=number["display_phone_number"].lstrip("+"),
        token=token.json()["token"],
    )


async def enrolment(http: httpx.AsyncClient, business_id: str, mode: str = "self_run") -> str:
    issued = await http.post(
        f"/v1/admin/businesses/{business_id}/enrolments", json={"mode": mode}, headers=AUTH
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


@contextlib.asynccontextmanager
async def self_run(
    server: ServerHandle, data_dir: Path, token: str | None, *, refresh_s: float = 0.5
) -> AsyncIterator[tuple[SelfRun, str]]:
    """A self-run endpoint serving on a free port of 127.0.0.1; yields it and its base URL.
    ``refresh_s``: how often it reads its configuration (the webhook) from the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    options = SelfRunOptions(
        server_url=server.url,
        data_dir=data_dir,
        enrolment_token=token,
        webhook_policy=FAST,
        refresh_s=refresh_s,
        undelivered_sweep_s=0.2,
    )
    endpoint = await SelfRun.open(options)
    await endpoint.start()
    task = asyncio.create_task(endpoint.serve(sockets=[sock]))
    try:
        yield endpoint, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        endpoint.stop()
        await task
        await endpoint.close()
        sock.close()


class Bot:
    """An unmodified Cloud API bot's HTTP calls (what pywa sends), with plain httpx."""

    def __init__(self, base: str, shop: Shop) -> None:
        self.http = httpx.AsyncClient(
            base_url=base + "/v26.0", headers={"Authorization": f"Bearer {shop.token}"}
        )
        self.shop = shop

    async def send(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            f"/{self.shop.number_id}/messages", json={"messaging_product": "whatsapp", **body}
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def events(bot: Receiver) -> list[dict[str, Any]]:
    """Every accepted webhook's ``value``."""
    return [json.loads(body)["entry"][0]["changes"][0]["value"] for body in bot.accepted]


def inbound(bot: Receiver) -> list[dict[str, Any]]:
    return [v for v in events(bot) if v.get("messages")]


def statuses(bot: Receiver) -> list[dict[str, Any]]:
    return [v["statuses"][0] for v in events(bot) if v.get("statuses")]


async def next_message(stream: AsyncIterator[Message], *, within: float = 10.0) -> Message:
    async with asyncio.timeout(within):
        return await anext(aiter(stream))


async def person_writes(person: Client, business_account: str, text: str) -> None:
    await person.send_text(business_account, text)


async def marie_on_social(server: ServerHandle, home: Path) -> Client:
    """Marie, a person on ``social`` (the customer of the endpoint tests), registered, not connected."""
    return await Client.register(
        server.url, home, app="social", username="marie.d", display_name="Marie", password=PW
    )


async def first_words(
    marie: Client, receiver: Receiver, slug: str = "biz:velo-paris"
) -> tuple[PublicBusiness, str]:
    """Marie finds the business and writes to it: the business as she found it, and the ``user_id``
    its bot then knows her by."""
    business = await marie.businesses.find(slug)
    await marie.send_text(str(business.account_id), "bonjour")
    await receiver.wait_until(lambda r: len(inbound(r)) == 1)
    return business, str(inbound(receiver)[0]["contacts"][0]["user_id"])
