"""Testing a bot against the real thing, in-process (docs/bots.md, "Testing"): a real Passerelle
server (SQLite in a temporary directory), a business with a number and a token, its endpoint
(``hosted`` in the server or ``self_run`` beside the bot), the bot's webhook registered, and
customers — real SDK clients on ``chat``, ``photo`` or ``social`` — who write, tap and wait for
what their app shows. No mocks: every message is encrypted, sent, decrypted, posted as a signed
webhook and answered through the Cloud API.

```python
from passerelle.bot.testing import running_testbed

async def test_welcome(tmp_path):
    async with running_testbed(tmp_path) as bed:
        bot = make_bot(**bed.bot_options(), state_path=tmp_path / "state.db")
        await bed.serve(bot)
        alice = await bed.customer("alice", app="photo")
        await alice.say("/start")
        menu = await alice.sees(lambda m: "Welcome" in m.text)
        await alice.tap(menu, "rent")         # or, on an app without buttons: await alice.say("1")
```

This module is the one part of ``passerelle.bot`` that imports the server (its runner, to run it
in the test's process, and the self-run endpoint); a bot in production never imports it.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from passerelle.bot.app import Bot
from passerelle.config import load_settings
from passerelle.domain.ids import AppName
from passerelle.sdk import Client
from passerelle.sdk.events import Event, Message
from passerelle.server.endpoint.selfrun import SelfRun, SelfRunOptions
from passerelle.server.runner import running_server
from passerelle.service.business.webhooks import WebhookPolicy

PASSWORD = "correct horse battery staple"
WAIT_S = 10.0


class Codes:
    """The server's code sender: the phones of the test's ``chat`` customers."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        self.sent[phone] = code


class Person:
    """A customer: an SDK client on one app, and everything it showed since it joined."""

    def __init__(self, client: Client, business: str) -> None:
        self.client = client
        self.business = business
        """The business's account (where the person writes)."""
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._watch(client.events()))

    async def _watch(self, stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            self.events.append(event)
            self._changed.set()

    async def say(self, text: str) -> None:
        await self.client.send_text(self.business, text)

    def shown(self) -> list[Message]:
        """The business's messages shown so far, oldest first."""
        return [
            e for e in self.events if isinstance(e, Message) and e.sender == self.business and not e.outgoing
        ]

    async def sees(self, wanted: Callable[[Message], bool], *, within: float = WAIT_S) -> Message:
        """The first message of the business shown that is ``wanted`` (waiting for it)."""
        found = await self.saw(
            lambda e: isinstance(e, Message) and e in self.shown() and wanted(e), within=within
        )
        assert isinstance(found, Message)
        return found

    async def saw(self, wanted: Callable[[Event], bool], *, within: float = WAIT_S) -> Event:
        """The first event the person's app showed that is ``wanted`` (a receipt, a message …)."""
        try:
            async with asyncio.timeout(within):
                while True:
                    found = next((e for e in self.events if wanted(e)), None)
                    if found is not None:
                        return found
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            texts = [m.text for m in self.shown()]
            raise AssertionError(f"not shown within {within} s; the business's messages: {texts}") from None

    async def sees_text(self, text: str, *, within: float = WAIT_S) -> Message:
        return await self.sees(lambda m: m.text == text, within=within)

    async def tap(self, message: Message, choice: str) -> None:
        await self.client.businesses.tap(message, choice)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()


class Testbed:
    """A server, a business and its endpoint, for one test (``running_testbed``)."""

    def __init__(self, root: Path, url: str, admin_token: str, codes: Codes, stack: AsyncExitStack) -> None:
        self.root = root
        self.url = url
        self.codes = codes
        self.admin = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=15
        )
        self._stack = stack
        self.business_id = ""
        self.slug = ""
        self.phone_number_id = ""
        self.numbers: list[str] = []
        self.token = ""
        self.base_url = ""
        """Where the bot calls the Cloud API: the self-run endpoint, or the server (hosted)."""
        self.app_secret = secrets.token_hex(16)
        self.verify_token = secrets.token_hex(8)
        self.endpoint: SelfRun | None = None
        self.people: list[Person] = []
        self._account = ""
        self.waba_id = ""
        """The business account (WABA) of its first number: where its catalogs live."""

    async def handoffs(self) -> list[dict[str, Any]]:
        """The business's open and taken hand-offs, as the admin API lists them."""
        found = await self.call("GET", f"/v1/admin/businesses/{self.business_id}/handoffs")
        return list(found["handoffs"])

    async def take(self, handoff: str, agent: str) -> dict[str, Any]:
        return dict(
            await self.call(
                "POST", f"/v1/admin/businesses/{self.business_id}/handoffs/{handoff}/take", {"agent": agent}
            )
        )

    async def hand_back(self, handoff: str) -> dict[str, Any]:
        return dict(
            await self.call("POST", f"/v1/admin/businesses/{self.business_id}/handoffs/{handoff}/hand-back")
        )

    async def resolve(self, handoff: str) -> dict[str, Any]:
        return dict(
            await self.call("POST", f"/v1/admin/businesses/{self.business_id}/handoffs/{handoff}/resolve")
        )

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """An operator's admin API call (2xx expected)."""
        answer = await self.admin.request(method, path, json=body)
        if answer.status_code >= 300:
            raise AssertionError(f"the admin API refused {method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    async def open_business(self, slug: str, display_number: str, deployment: str) -> None:
        self.slug = slug
        made = await self.call(
            "POST", "/v1/admin/businesses", {"slug": slug, "name": slug.title(), "verified": True}
        )
        self.business_id = made["business_id"]
        account = await self.call(
            "POST", f"/v1/admin/businesses/{self.business_id}/accounts", {"name": "main"}
        )
        self.waba_id = account["waba_id"]
        self.phone_number_id = await self.add_number(display_number)
        made_token = await self.call(
            "POST", f"/v1/admin/businesses/{self.business_id}/tokens", {"label": "bot"}
        )
        self.token = made_token["token"]
        if deployment == "hosted":
            await self.call("POST", f"/v1/admin/businesses/{self.business_id}/endpoint")
            self.base_url = self.url
        elif deployment == "self_run":
            issued = await self.call(
                "POST", f"/v1/admin/businesses/{self.business_id}/enrolments", {"mode": "self_run"}
            )
            self.base_url = await self._stack.enter_async_context(self._self_run(issued["token"]))
        else:
            raise ValueError("deployment is 'hosted' or 'self_run'")

    async def add_number(self, display_number: str) -> str:
        """Another number of the business; its ``phone_number_id``."""
        number = await self.call(
            "POST",
            f"/v1/admin/businesses/{self.business_id}/numbers",
            {"waba_id": self.waba_id, "display_number": display_number},
        )
        self.numbers.append(number["phone_number_id"])
        if self.endpoint is not None:
            await self.endpoint.refresh()
        return str(number["phone_number_id"])

    @asynccontextmanager
    async def _self_run(self, token: str) -> AsyncIterator[str]:
        sock = socket.create_server(("127.0.0.1", 0))
        options = SelfRunOptions(
            server_url=self.url,
            data_dir=self.root / "endpoint",
            enrolment_token=token,
            webhook_policy=WebhookPolicy(backoff_base_s=0.02, backoff_cap_s=0.2),
            refresh_s=0.5,
        )
        endpoint = await SelfRun.open(options)
        try:
            await endpoint.start()
            self.endpoint = endpoint
            task = asyncio.create_task(endpoint.serve(sockets=[sock]), name="self-run endpoint")
            try:
                yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            finally:
                endpoint.stop()
                await task
        finally:
            await endpoint.close()
            sock.close()

    def bot_options(self) -> dict[str, Any]:
        """What a ``Bot`` needs to serve this business (all but ``state_path``)."""
        return {
            "base_url": self.base_url,
            "phone_number_id": self.phone_number_id,
            "token": self.token,
            "app_secret": self.app_secret,
            "verify_token": self.verify_token,
        }

    async def serve(self, bot: Bot) -> None:
        """Start ``bot``'s webhook and make it the business's (the server's handshake answered)."""
        await bot.start()
        self._stack.push_async_callback(bot.aclose)
        await self.set_webhook(bot.url)

    async def set_webhook(self, url: str) -> None:
        hook = {"callback_url": url, "verify_token": self.verify_token, "app_secret": self.app_secret}
        await self.call("PUT", f"/v1/admin/businesses/{self.business_id}/webhook", hook)
        if self.endpoint is not None:
            await self.endpoint.refresh()

    async def customer(self, name: str, *, app: str = "chat") -> Person:
        """A new person on ``app``, connected, who found the business (by its number on ``chat``)."""
        store = self.root / "people" / name
        if app == "chat":
            phone = f"+3361{len(self.people):07d}"
            await Client.request_code(self.url, "chat", phone)
            client = await Client.register(
                self.url,
                store,
                app="chat",
                phone=phone,
                code=self.codes.sent[phone],
                display_name=name.title(),
            )
        elif app == "photo":
            client = await Client.register(
                self.url, store, app="photo", handle=name, password=PASSWORD, display_name=name.title()
            )
        else:
            client = await Client.register(
                self.url, store, app=app, username=name, password=PASSWORD, display_name=name.title()
            )
        await client.connect()
        found = await client.businesses.find(f"biz:{self.slug}")
        person = Person(client, str(found.account_id))
        self.people.append(person)
        self._stack.push_async_callback(person.close)
        return person


@asynccontextmanager
async def running_testbed(
    root: Path,
    *,
    deployment: str = "hosted",
    slug: str = "test-shop",
    display_number: str = "+33 1 00 00 00 01",
    **settings: Any,
) -> AsyncIterator[Testbed]:
    """A real server in this process (SQLite under ``root``), a verified business ``biz:<slug>``
    with one number and a bot token, and its endpoint (``hosted`` or ``self_run``)."""
    admin_token = secrets.token_urlsafe(24)
    values: dict[str, Any] = {
        "data_dir": root / "server",
        "database_url": "",
        "redis_url": "",
        "janitor_interval_s": 3600.0,
        "admin_token": admin_token,
        "operator_name": "Passerelle Test",
        "webhook_backoff_base_s": 0.02,
        "webhook_backoff_cap_s": 0.2,
        **settings,
    }
    codes = Codes()
    async with (
        AsyncExitStack() as stack,
        running_server(load_settings(None, **values), code_sender=codes) as server,
    ):
        bed = Testbed(root, server.url, admin_token, codes, stack)
        stack.push_async_callback(bed.admin.aclose)
        await bed.open_business(slug, display_number, deployment)
        yield bed
