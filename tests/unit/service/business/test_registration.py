"""WebhookRegistration on the in-memory store, with a bot that answers the handshake: who may set a
business's webhook through the Graph calls of a bot's own registration (docs/business.md section 9),
and what each call checks before the handshake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId
from passerelle.server.system import RandomIds
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.cloud import CloudControl
from passerelle.service.business.records import BusinessProfile
from passerelle.service.business.registration import WebhookRegistration
from passerelle.service.business.webhook_ports import HttpAnswer
from passerelle.service.business.webhooks import WebhookPolicy, Webhooks
from passerelle.storage import MemoryStore
from passerelle.storage.business import webhook_store_for
from passerelle.storage.memory.business import MemoryBusinessStore
from tests.unit.service.fakes import FakeClock

SECRET = "app-secret-0123456789abcdef"
BOT = "https://bot.example/webhook"


@dataclass
class Bot:
    """Answers the handshake with the challenge when the verify token is ``vt``."""

    asked: list[str] = field(default_factory=list)
    public_only: list[bool] = field(default_factory=list)

    async def get(
        self, url: str, params: Mapping[str, str], *, timeout_s: float, public_only: bool = False
    ) -> HttpAnswer:
        self.asked.append(url)
        self.public_only.append(public_only)
        if params["hub.verify_token"] == "vt":
            return HttpAnswer(status=200, text=params["hub.challenge"])
        return HttpAnswer(status=403, text="Forbidden")

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        public_only: bool = False,
    ) -> HttpAnswer:
        return HttpAnswer(status=200, text="")


class Meter:
    def queued(self) -> None: ...
    def delivered(self, latency_s: float) -> None: ...
    def retried(self) -> None: ...
    def dropped(self, reason: str) -> None: ...


@dataclass
class Shop:
    id: str
    waba: str
    number: str
    token: str


@dataclass
class Setup:
    store: MemoryBusinessStore
    registration: WebhookRegistration
    cloud: CloudControl
    webhooks: Webhooks
    bot: Bot
    shop: Shop
    other: Shop


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.open()
    business = MemoryBusinessStore(store)
    admin = BusinessAdmin(store=business, clock=clock, ids=RandomIds())
    bot = Bot()
    webhooks = Webhooks(
        store=webhook_store_for(store),
        businesses=business,
        http=bot,
        meter=Meter(),
        clock=clock,
        policy=WebhookPolicy(),
    )
    shops: list[Shop] = []
    for slug in ("velo", "cafe"):
        made = await admin.create(slug, BusinessProfile(name=slug))
        waba = await admin.add_account(made.id, "")
        number = await admin.add_number(made.id, waba.id, "+33 1 23 45 67 8" + str(len(shops)))
        shops.append(Shop(made.id, waba.id, number.id, (await admin.create_token(made.id, "bot")).token))
    cloud = CloudControl(store=business, admin=admin)
    registration = WebhookRegistration(store=business, cloud=cloud, webhooks=webhooks)
    yield Setup(business, registration, cloud, webhooks, bot, shops[0], shops[1])
    await store.close()


def code(exc: pytest.ExceptionInfo[CloudApiError]) -> Failure:
    return exc.value.failure


async def test_the_app_scope_sets_the_webhook_for_the_business_own_token(setup: Setup) -> None:
    r, shop, other = setup.registration, setup.shop, setup.other
    grant = {"grant_type": "client_credentials", "client_id": shop.waba, "client_secret": SECRET}
    token = await r.app_token(**grant, bearer=shop.token)
    assert token == f"{shop.waba}|{SECRET}"
    for wrong in ({"grant_type": "password"}, {"client_secret": ""}):
        with pytest.raises(CloudApiError) as bad:
            await r.app_token(**{**grant, **wrong}, bearer=shop.token)
        assert code(bad) is Failure.INVALID_PARAMETER
    # Another business's token: its own app only; an unknown app id looks the same.
    for client_id in (shop.waba, "999999999999999", "not-digits"):
        with pytest.raises(CloudApiError) as theirs:
            await r.app_token(**{**grant, "client_id": client_id}, bearer=other.token)
        assert code(theirs) is Failure.UNKNOWN_OBJECT
    with pytest.raises(CloudApiError) as bad_token:
        await r.app_token(**grant, bearer="pbt_nope")
    assert code(bad_token) is Failure.BAD_TOKEN
    # No webhook yet: without a token, no secret is the app's.
    with pytest.raises(CloudApiError) as nobody:
        await r.app_token(**grant, bearer="")
    assert code(nobody) is Failure.UNKNOWN_OBJECT

    subscribe = {
        "access_token": token,
        "subscribed": "whatsapp_business_account",
        "callback_url": BOT,
        "verify_token": "vt",
    }
    with pytest.raises(CloudApiError) as foreign:
        await r.subscribe_app(shop.waba, **subscribe, bearer=other.token)
    assert code(foreign) is Failure.UNKNOWN_OBJECT
    with pytest.raises(CloudApiError) as other_app:
        await r.subscribe_app(other.waba, **subscribe, bearer=shop.token)  # a token of another app
    assert code(other_app) is Failure.BAD_TOKEN
    with pytest.raises(CloudApiError) as wrong_object:
        await r.subscribe_app(shop.waba, **{**subscribe, "subscribed": "page"}, bearer=shop.token)
    assert code(wrong_object) is Failure.INVALID_PARAMETER
    assert setup.bot.asked == []  # nothing refused reached the bot
    await r.subscribe_app(shop.waba, **subscribe, bearer=shop.token)
    config = await setup.webhooks.config_of(BusinessId(shop.id))
    assert config is not None and (config.callback_url, config.verify_token, config.app_secret) == (
        BOT,
        "vt",
        SECRET,
    )
    # Now the app's secret alone (no token) gets its token, and only that secret.
    assert await r.app_token(**grant, bearer="") == token
    with pytest.raises(CloudApiError):
        await r.app_token(**{**grant, "client_secret": SECRET + "x"}, bearer="")


async def test_the_overrides_move_the_webhook_and_keep_its_secret(setup: Setup) -> None:
    r, shop, other = setup.registration, setup.shop, setup.other
    caller = await setup.cloud.authenticate(shop.token)  # the route's caller
    with pytest.raises(CloudApiError) as none_yet:
        await r.override_account(caller, shop.waba, callback_url=BOT, verify_token="vt")
    assert code(none_yet) is Failure.INVALID_PARAMETER and "no webhook yet" in none_yet.value.details
    await setup.webhooks.configure(shop.id, callback_url=BOT, verify_token="vt", app_secret=SECRET)
    moved = "https://bot.example/v2"
    await r.override_number(caller, shop.number, callback_url=moved, verify_token="vt")
    config = await setup.webhooks.config_of(BusinessId(shop.id))
    assert config is not None and (config.callback_url, config.app_secret) == (moved, SECRET)
    await r.override_account(caller, shop.waba, callback_url=None, verify_token=None)  # no change
    with pytest.raises(CloudApiError) as no_token:
        await r.override_account(caller, shop.waba, callback_url=BOT, verify_token=None)
    assert no_token.value.field == "verify_token"
    for call, object_id in ((r.override_account, other.waba), (r.override_number, other.number)):
        with pytest.raises(CloudApiError) as theirs:
            await call(caller, object_id, callback_url=BOT, verify_token="vt")
        assert code(theirs) is Failure.UNKNOWN_OBJECT


async def test_where_only_public_addresses_are_allowed_the_webhook_is_held_to_them(setup: Setup) -> None:
    """With a URL check (the operator allows public addresses only), what a bot registers is
    ``public_only``: its handshake and every post go to a public address only, the one checked
    (server.webhook_http); the operator's own webhook is not."""
    checked: list[str] = []

    async def check(url: str) -> None:
        checked.append(url)

    r = WebhookRegistration(store=setup.store, cloud=setup.cloud, webhooks=setup.webhooks, check_url=check)
    shop = setup.shop
    token = await r.app_token(
        grant_type="client_credentials", client_id=shop.waba, client_secret=SECRET, bearer=shop.token
    )
    await r.subscribe_app(
        shop.waba,
        access_token=token,
        subscribed="whatsapp_business_account",
        callback_url=BOT,
        verify_token="vt",
        bearer=shop.token,
    )
    found = await setup.webhooks.config_of(BusinessId(shop.id))
    assert found is not None and found.public_only and checked == [BOT]
    assert setup.bot.public_only[-1] is True  # the handshake too
    await setup.webhooks.configure(shop.id, callback_url=BOT, verify_token="vt", app_secret=SECRET)
    again = await setup.webhooks.config_of(BusinessId(shop.id))
    assert again is not None and not again.public_only and setup.bot.public_only[-1] is False
