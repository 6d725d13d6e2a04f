"""An unmodified pywa 4.5 bot registers its own webhook at start (``callback_url=``, ``app_id=``,
``app_secret=``, ``verify_token=``: the Graph calls of ../shared/reference/cloud-api.md sections 1.4
and 4.6), in both deployments, with no webhook set by the operator; then a customer's message
reaches it, signed with the app secret it registered (docs/business.md section 9, "A bot registers
its own webhook"). Another business's token can change none of it, through any of the calls."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from pathlib import Path

import httpx
import pytest
from pywa_async import WhatsApp
from pywa_async import errors as pywa_errors
from pywa_async.types import Message

from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import enrolment, self_run
from tests.integration.pywa_bot import APP_SECRET, VERIFY_TOKEN, PywaBot
from tests.integration.test_business import ADMIN, AUTH, PW, made_business, with_number

pytestmark = [
    pytest.mark.settings(
        admin_token=ADMIN,
        operator_name="Passerelle Test",
        webhook_backoff_base_s=0.02,
        webhook_backoff_cap_s=0.1,
        business_webhook_private_urls=True,  # the bot listens on 127.0.0.1
    ),
    # pywa_async registers through an httpx client of its own, in an event loop of its own in a
    # timer thread, and never closes it: its connection is left to the garbage collector.
    *(
        pytest.mark.filterwarnings(
            f"ignore:Exception ignored in. {what}:pytest.PytestUnraisableExceptionWarning"
        )
        for what in (
            "<socket.socket",
            "<function _SelectorTransport.__del__",
            "<function BaseEventLoop.__del__",
        )
    ),
]


class PywaSays(logging.Handler):
    """What pywa logs (its registration runs in a timer thread of its own): the test waits for its
    word that the callback URL is registered."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.loop = loop
        self.registered = asyncio.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if "registered successfully" in line:
            self.loop.call_soon_threadsafe(self.registered.set)


async def business_with_token(
    http: httpx.AsyncClient, slug: str, display: str
) -> tuple[str, dict[str, str], str]:
    business = str((await made_business(http, slug, verified=True))["business_id"])
    number = await with_number(http, business, display)
    token = await http.post(f"/v1/admin/businesses/{business}/tokens", json={"label": "bot"}, headers=AUTH)
    assert token.status_code == 201, token.text
    return business, number, str(token.json()["token"])


def refused(answer: httpx.Response) -> bool:
    """The Graph's "no such object, or this token may not use it"."""
    return answer.status_code == 400 and answer.json()["error"]["code"] == 100


@pytest.mark.parametrize("mode", ["self_run", "hosted"])
async def test_a_pywa_bot_registers_its_own_webhook(
    mode: str, server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    business, number, token = await business_with_token(http, "velo-lyon", "+33 4 12 34 56 78")
    _other, other_number, other_token = await business_with_token(http, "cafe-lyon", "+33 4 98 76 54 32")
    webhook = f"/v1/admin/businesses/{business}/webhook"
    assert (await http.get(webhook, headers=AUTH)).status_code == 404  # the operator set none
    says = PywaSays(asyncio.get_running_loop())
    pywa_log = logging.getLogger("pywa.server")
    level = pywa_log.level
    async with contextlib.AsyncExitStack() as stack:
        if mode == "self_run":  # it reads its webhook from the server only when told, here
            token_ = await enrolment(http, business)
            ep = self_run(server, tmp_path / "ep", token_, refresh_s=3600)
            _endpoint, base = await stack.enter_async_context(ep)
        else:
            hosted = await http.post(f"/v1/admin/businesses/{business}/endpoint", headers=AUTH)
            assert hosted.status_code == 201, hosted.text
            base = server.url
        pywa_log.addHandler(says)
        pywa_log.setLevel(logging.INFO)
        stack.callback(pywa_log.setLevel, level)
        stack.callback(pywa_log.removeHandler, says)
        app_id = number["waba_id"]  # a business's app id: one of its WABA ids
        bot = PywaBot(
            base_url=base, phone_id=number["phone_number_id"], token=token, waba_id=app_id, app_id=app_id
        )
        stack.push_async_callback(bot.aclose)

        async def noted(client: WhatsApp, msg: Message) -> None:
            return None

        bot.wa.on_message(filters=None)(bot.handler(noted))
        await bot.start()
        try:
            await asyncio.wait_for(says.registered.wait(), 10)
        except TimeoutError:
            raise AssertionError(f"pywa did not register; it said: {says.lines}") from None
        shown = (await http.get(webhook, headers=AUTH)).json()
        assert shown["callback_url"] == bot.url and shown["app_secret_hint"] == "…" + APP_SECRET[-4:]

        # Another business's token sets none of this business's webhook, by any of the calls.
        graph = f"{base}/v26.0"
        theirs = {"Authorization": f"Bearer {other_token}"}
        elsewhere = "http://127.0.0.1:9/elsewhere"
        grant = {"grant_type": "client_credentials", "client_id": app_id, "client_secret": "x" * 32}
        assert refused(await http.get(f"{graph}/oauth/access_token", params=grant, headers=theirs))
        subscription = {
            "object": "whatsapp_business_account",
            "callback_url": elsewhere,
            "verify_token": "theirs",
            "access_token": f"{app_id}|{'x' * 32}",
        }
        assert refused(
            await http.post(f"{graph}/{app_id}/subscriptions", params=subscription, headers=theirs)
        )
        override = {"override_callback_uri": elsewhere, "verify_token": "theirs"}
        assert refused(await http.post(f"{graph}/{app_id}/subscribed_apps", json=override, headers=theirs))
        number_id = number["phone_number_id"]
        settings = {"webhook_configuration": override}
        assert refused(await http.post(f"{graph}/{number_id}/", json=settings, headers=theirs))
        # Without a token, the app's id and a wrong secret get nothing; its own secret, its app token.
        assert refused(await http.get(f"{graph}/oauth/access_token", params=grant))
        own = await http.get(f"{graph}/oauth/access_token", params={**grant, "client_secret": APP_SECRET})
        assert own.status_code == 200 and own.json() == {
            "access_token": f"{app_id}|{APP_SECRET}",
            "token_type": "bearer",
        }
        # ... which is this app's only: not another business's account.
        their_app = {**grant, "client_id": other_number["waba_id"], "client_secret": APP_SECRET}
        assert refused(await http.get(f"{graph}/oauth/access_token", params=their_app))
        assert (await http.get(webhook, headers=AUTH)).json()["callback_url"] == bot.url

        # pywa's account and number overrides run the handshake again (a wrong verify token fails it).
        assert await bot.wa.override_waba_callback_url(bot.url, VERIFY_TOKEN)
        assert await bot.wa.override_phone_callback_url(bot.url, VERIFY_TOKEN)
        with pytest.raises(pywa_errors.WhatsAppError):
            await bot.wa.override_phone_callback_url(bot.url, "not-the-verify-token")

        # A customer writes: the bot gets it, signed with the app secret it registered.
        alice = await Client.register(
            server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
        )
        stack.push_async_callback(alice.close)
        await alice.connect()
        shop = str((await alice.businesses.find("biz:velo-lyon")).account_id)
        await alice.send_text(shop, "Bonjour, vous louez des vélos ?")
        await bot.wait_until(lambda u: any(isinstance(m, Message) for m in u))
        got = next(m for m in bot.updates if isinstance(m, Message))
        assert got.text == "Bonjour, vous louez des vélos ?" and got.from_user.name == "Alice"
        assert not bot.errors
    # What pywa_async's registration left (see pytestmark) goes now, under this test's filters.
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            await asyncio.to_thread(thread.join, 5)
    gc.collect()


@pytest.mark.settings(admin_token=ADMIN)
async def test_a_bot_registers_only_public_addresses_by_default(
    server: ServerHandle, http: httpx.AsyncClient
) -> None:
    """The server would call the URL a bot registers (the handshake, then the posts): by default
    only a public address, so that a business cannot aim it at the operator's own network."""
    business, number, token = await business_with_token(http, "velo-nice", "+33 4 93 00 00 00")
    mine = {"Authorization": f"Bearer {token}"}
    app_id = number["waba_id"]
    for url in ("http://127.0.0.1:9/webhook", "http://10.1.2.3/webhook", "http://[::1]:8080/webhook"):
        subscription = {
            "object": "whatsapp_business_account",
            "callback_url": url,
            "verify_token": "v",
            "access_token": f"{app_id}|{'s' * 32}",
        }
        answer = await http.post(f"/v26.0/{app_id}/subscriptions", params=subscription, headers=mine)
        assert answer.status_code == 400 and "public address" in answer.json()["error"]["message"]
    assert (await http.get(f"/v1/admin/businesses/{business}/webhook", headers=AUTH)).status_code == 404
