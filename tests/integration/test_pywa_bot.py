"""An unmodified pywa 4.5 bot talks to customers on ``chat``, ``photo`` and ``social`` through the
real server, in both deployments of the business endpoint (docs/business.md sections 4 to 9, issue
11's proof): self-run (the endpoint next to the bot, the bot pointed at it) and hosted (inside the
server, the bot pointed at the server). pywa receives signed webhooks (it checks
``X-Hub-Signature-256`` with ``app_secret``) and answers with text, reply buttons, a list, read marks
and a reaction; the people's SDKs show each as the right content and their taps reach pywa's
``on_callback_button`` / ``on_callback_selection``. The Cloud API's errors surface as pywa's own
exception types.

Templates: ``test_pywa_sends_templates_and_sees_the_persons_stop`` (``send_template`` outside the
window, the person's STOP as pywa's ``UserStoppedMarketingMessages`` and its
``on_user_marketing_preferences``).

Images: in ``test_a_pywa_bot_answers_customers_on_three_apps``, pywa's ``reply_image`` of bytes
(uploaded, then sent by media id) and of a link (the bot's own URL: a self-run endpoint fetches it; a
hosted one refuses a non-public address with 131053), each downloaded by the person's SDK as the
bytes the bot had; and the person's own photo reaching pywa's ``on_message`` as ``msg.image``, which
pywa downloads with its own ``get_media_bytes``.

pywa registering its own webhook (``callback_url=``): tests/integration/test_pywa_registration.py."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pywa_async import WhatsApp
from pywa_async import errors as pywa_errors
from pywa_async.types import (
    Button,
    CallbackButton,
    CallbackSelection,
    Industry,
    Message,
    MessageStatus,
    Section,
    SectionList,
    SectionRow,
    UserMarketingPreferences,
)
from pywa_async.types.templates import BodyText, TemplateLanguage
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from passerelle.proto.cloud.content import NUMBER_PROMPT
from passerelle.sdk import Client
from passerelle.sdk.events import Event, ReceiptEvent
from passerelle.sdk.events import Message as Shown
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import enrolment, self_run
from tests.integration.pywa_bot import PywaBot, ToPasserelle
from tests.integration.test_business import ADMIN, AUTH, PW, made_business, with_number

VELO_PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(3000)
"""The bot's picture (PNG's first bytes, then noise: the endpoint checks the first, not the rest)."""
HER_PHOTO = b"\xff\xd8\xff\xe0" + secrets.token_bytes(5000) + b"\xff\xd9"
"""A customer's photo (a JPEG's first and last bytes)."""

pytestmark = pytest.mark.settings(
    admin_token=ADMIN, operator_name="Passerelle Test", webhook_backoff_base_s=0.02, webhook_backoff_cap_s=0.1
)


@dataclass
class Deployment:
    bot: PywaBot
    business_id: str
    number_id: str
    display: str
    base_url: str
    """Where the bot is pointed: the self-run endpoint, or the server itself (hosted)."""


@pytest_asyncio.fixture(params=["self_run", "hosted"])
async def deployment(
    request: pytest.FixtureRequest, server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> AsyncIterator[Deployment]:
    """The operator's setup (business, number, token), the pywa bot's webhook server up and
    registered (the server's handshake answered by pywa itself), then the business's endpoint,
    self-run or hosted."""
    business = str((await made_business(http, "velo-paris", verified=True))["business_id"])
    number = await with_number(http, business, "+33 1 23 45 67 89")
    token = await http.post(f"/v1/admin/businesses/{business}/tokens", json={"label": "bot"}, headers=AUTH)
    assert token.status_code == 201, token.text
    bot = PywaBot(
        base_url=server.url,
        phone_id=number["phone_number_id"],
        token=token.json()["token"],
        waba_id=number["waba_id"],
    )
    await bot.start()
    hook = {"callback_url": bot.url, "verify_token": bot.verify_token, "app_secret": bot.app_secret}
    answer = await http.put(f"/v1/admin/businesses/{business}/webhook", json=hook, headers=AUTH)
    assert answer.status_code == 200, answer.text
    # pywa checks every webhook's signature with the app secret: a forged one never reaches it.
    forged = await http.post(bot.url, content=b"{}", headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status_code == 403
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "self_run":
            token_ = await enrolment(http, business)
            _endpoint, base = await stack.enter_async_context(self_run(server, tmp_path / "ep", token_))
        else:
            hosted = await http.post(f"/v1/admin/businesses/{business}/endpoint", headers=AUTH)
            assert hosted.status_code == 201, hosted.text
            base = server.url
        assert isinstance(bot.session._transport, ToPasserelle)
        bot.session._transport.base = httpx.URL(base)
        try:
            yield Deployment(
                bot=bot,
                business_id=business,
                number_id=number["phone_number_id"],
                display=number["display_phone_number"].lstrip("+"),
                base_url=base,
            )
        finally:
            await bot.aclose()


async def customers(server: ServerHandle, tmp_path: Path) -> dict[str, Client]:
    """Alice on photo, Marie on social, Chloé on chat (by phone), each connected."""
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    marie = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", display_name="Marie", password=PW
    )
    chloe = await server.register_phone(tmp_path / "chloe", "+33612345678", display_name="Chloé")
    people = {"Alice": alice, "Marie": marie, "Chloé": chloe}
    for person in people.values():
        await person.connect()
    return people


class Screen:
    """Everything a person's SDK showed from now on (messages, receipts …), in order, so a test
    waits for what it expects whatever came between."""

    def __init__(self, person: Client) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._watch(person.events()))

    async def _watch(self, stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            self.events.append(event)
            self._changed.set()

    async def seen(self, wanted: Callable[[Event], bool], within: float = 10.0) -> Event:
        """The first event shown that is ``wanted``, waiting for it if need be."""
        try:
            async with asyncio.timeout(within):
                while True:
                    found = next((e for e in self.events if wanted(e)), None)
                    if found is not None:
                        return found
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"not shown within {within} s; shown: {self.events}") from None

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def shown(text: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, Shown) and not e.outgoing and e.text == text


def texts(updates: list[Any]) -> list[str]:
    return [u.text for u in updates if isinstance(u, Message) and u.text is not None]


def register_the_bot(wa: WhatsApp, bot: PywaBot) -> None:
    """The bot of a bike shop, as a pywa user writes it: it marks each message read, answers
    "menu" with reply buttons and "vélos" with a list, and anything else with a reaction and a
    greeting by the name the person's app shows; a tap is answered with what was chosen."""

    async def answer(client: WhatsApp, msg: Message) -> None:
        await msg.mark_as_read()
        if msg.image is not None:  # the person's photo, fetched with pywa's own media calls
            bot.downloads.append(await msg.get_media_bytes())
            await msg.reply_text(f"Photo reçue ({msg.image.mime_type})")
        elif msg.text == "photo":  # uploaded (POST /{phone_number_id}/media), then sent by id
            await msg.reply_image(VELO_PNG, caption="Le vélo rouge", mime_type="image/png")
        elif msg.text == "lien":  # sent by link: the endpoint fetches the bot's own URL
            try:
                await msg.reply_image(f"http://127.0.0.1:{bot.port}/velo.png", caption="Le même, par lien")
            except pywa_errors.WhatsAppError as refused:
                await msg.reply_text(f"Lien refusé ({refused.code})")
        elif msg.text == "menu":
            await msg.reply_text(
                "Que voulez-vous ?",
                header="Vélo Paris",
                footer="Réponse en 1 minute",
                buttons=[Button("Louer", callback_data="rent"), Button("Réparer", callback_data="repair")],
            )
        elif msg.text == "vélos":
            await msg.reply_text(
                "Nos vélos",
                buttons=SectionList(
                    button_title="Voir",
                    sections=[
                        Section(
                            title="Ville",
                            rows=[
                                SectionRow(
                                    title="Vélo de ville", callback_data="city", description="3 vitesses"
                                ),
                                SectionRow(title="Vélo cargo", callback_data="cargo"),
                            ],
                        )
                    ],
                ),
            )
        else:
            await msg.react("👍")
            await msg.reply_text(f"Bonjour {msg.from_user.name} !", quote=True)

    async def tapped(client: WhatsApp, btn: CallbackButton) -> None:
        await btn.reply_text(f"Choisi : {btn.data}")

    async def selected(client: WhatsApp, sel: CallbackSelection) -> None:
        await sel.reply_text(f"Vous avez choisi {sel.title} ({sel.data})")

    async def status(client: WhatsApp, update: MessageStatus) -> None:
        return None

    async def picture(request: Request) -> Response:
        return Response(VELO_PNG, media_type="image/png")

    bot.app.router.routes.append(Route("/velo.png", picture))  # the bot's own web server
    wa.on_message(filters=None)(bot.handler(answer))
    wa.on_callback_button(filters=None)(bot.handler(tapped))
    wa.on_callback_selection(filters=None)(bot.handler(selected))
    wa.on_message_status(filters=None)(bot.handler(status))


async def test_a_pywa_bot_answers_customers_on_three_apps(
    deployment: Deployment, server: ServerHandle, tmp_path: Path
) -> None:
    bot = deployment.bot
    register_the_bot(bot.wa, bot)
    people = await customers(server, tmp_path)
    try:
        business = str((await people["Alice"].businesses.find("biz:velo-paris")).account_id)
        events = {name: Screen(person) for name, person in people.items()}
        for name, person in people.items():
            await person.send_text(business, f"Bonjour, ici {name}")
        # pywa got each message, with the name the person's app shows, and answered it.
        await bot.wait_until(lambda u: len(texts(u)) >= 3)
        received = {u.from_user.name: u for u in bot.updates if isinstance(u, Message)}
        assert set(received) == set(people)
        for name, msg in received.items():
            assert msg.text == f"Bonjour, ici {name}"
            assert msg.from_user.bsuid is not None and msg.from_user.bsuid.startswith("ZZ.")
            assert msg.metadata.phone_number_id == deployment.number_id
        for name, person in people.items():
            greeting = await events[name].seen(shown(f"Bonjour {name} !"))
            assert isinstance(greeting, Shown) and greeting.sender == business
            assert greeting.reply_to is not None and greeting.reply_to.sender == person.account_id
            # The bot's 👍 on the person's own message (social shows no reactions: its people get
            # the fallback text), and its read mark.
            if name == "Marie":
                await events[name].seen(shown("👍 reacted to: “Bonjour, ici Marie”"))
            else:
                await events[name].seen(
                    lambda e: isinstance(e, Shown) and e.outgoing and (business, "👍") in e.reactions
                )
            await events[name].seen(
                lambda e: isinstance(e, ReceiptEvent) and e.kind == "read" and e.sender == business,
            )

        # Reply buttons: Marie sees them, taps one, and pywa's on_callback_button gets it.
        marie = people["Marie"]
        await marie.send_text(business, "menu")
        offer = await events["Marie"].seen(lambda e: isinstance(e, Shown) and e.cloud is not None)
        assert isinstance(offer, Shown) and offer.cloud is not None
        assert offer.cloud["interactive"]["type"] == "button"
        assert marie.businesses.choices(offer) == {"rent": "Louer", "repair": "Réparer"}
        assert "Que voulez-vous ?" in offer.text and "[Réparer]" in offer.text
        await marie.businesses.tap(offer, "repair")
        await bot.wait_until(lambda u: any(isinstance(x, CallbackButton) for x in u))
        button = next(x for x in bot.updates if isinstance(x, CallbackButton))
        assert button.data == "repair" and button.title == "Réparer" and button.from_user.name == "Marie"
        await events["Marie"].seen(shown("Choisi : repair"))

        # A list: Chloé picks a row, and pywa's on_callback_selection gets it.
        chloe = people["Chloé"]
        await chloe.send_text(business, "vélos")
        listed = await events["Chloé"].seen(lambda e: isinstance(e, Shown) and e.cloud is not None)
        assert isinstance(listed, Shown) and listed.cloud is not None
        assert listed.cloud["interactive"]["type"] == "list"
        assert chloe.businesses.choices(listed) == {"city": "Vélo de ville", "cargo": "Vélo cargo"}
        await chloe.businesses.tap(listed, "cargo")
        await bot.wait_until(lambda u: any(isinstance(x, CallbackSelection) for x in u))
        selection = next(x for x in bot.updates if isinstance(x, CallbackSelection))
        assert selection.data == "cargo" and selection.title == "Vélo cargo"
        await events["Chloé"].seen(shown("Vous avez choisi Vélo cargo (cargo)"))

        # pywa sees its messages delivered, and read once the person read them (on_message_status).
        greeting = await events["Alice"].seen(shown("Bonjour Alice !"))
        assert isinstance(greeting, Shown) and greeting.id is not None
        await people["Alice"].mark_read(greeting.conv, [greeting.id])
        await bot.wait_until(
            lambda u: any(isinstance(x, MessageStatus) and x.status.value == "read" for x in u)
        )
        assert any(isinstance(x, MessageStatus) and x.status.value == "delivered" for x in bot.updates)

        # Images. Alice asks for a photo: pywa uploads it and sends it by id; her app downloads
        # the very bytes. By link: a self-run endpoint fetches the bot's URL; a hosted one fetches
        # public addresses only (131053, which pywa raises and the bot tells her).
        alice = people["Alice"]

        def image(caption: str) -> Callable[[Event], bool]:
            return lambda e: isinstance(e, Shown) and e.attachment is not None and e.text == caption

        await alice.send_text(business, "photo")
        sent = await events["Alice"].seen(image("Le vélo rouge"))
        assert isinstance(sent, Shown) and sent.attachment is not None
        assert sent.attachment.kind == "image" and sent.attachment.mime == "image/png"
        assert await alice.media.download(sent) == VELO_PNG
        await alice.send_text(business, "lien")
        if deployment.base_url == server.url:
            await events["Alice"].seen(shown("Lien refusé (131053)"))
        else:
            linked = await events["Alice"].seen(image("Le même, par lien"))
            assert isinstance(linked, Shown) and await alice.media.download(linked) == VELO_PNG
        # Her own photo: pywa's on_message gets an image, and fetches it with its media calls.
        await alice.media.send_image(business, HER_PHOTO, caption="Celui-ci ?")
        await bot.wait_until(lambda u: any(isinstance(m, Message) and m.image is not None for m in u))
        photo = next(m for m in bot.updates if isinstance(m, Message) and m.image is not None)
        assert photo.caption == "Celui-ci ?" and photo.image is not None
        assert photo.image.mime_type == "image/jpeg"
        assert bot.downloads == [HER_PHOTO]
        await events["Alice"].seen(shown("Photo reçue (image/jpeg)"))
        assert not bot.errors
    finally:
        for screen in events.values():
            await screen.close()
        for person in people.values():
            await person.close()


async def test_the_cloud_api_errors_are_pywa_exceptions(
    deployment: Deployment, server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    bot = deployment.bot
    people = await customers(server, tmp_path)
    marie, alice = people["Marie"], people["Alice"]

    async def noted(client: WhatsApp, msg: Message) -> None:
        return None

    bot.wa.on_message(filters=None)(bot.handler(noted))
    try:
        business = str((await marie.businesses.find("biz:velo-paris")).account_id)
        await marie.send_text(business, "bonjour")
        await alice.send_text(business, "salut")
        await bot.wait_until(lambda u: len(texts(u)) >= 2)
        ids = {u.from_user.name: u.from_user.bsuid for u in bot.updates if isinstance(u, Message)}
        wa = bot.wa
        sent = await wa.send_message(to=ids["Marie"], text="Bienvenue")
        assert sent.id.startswith("wamid.")

        # A bad token: 190, pywa's ExpiredAccessToken.
        wrong = WhatsApp(
            phone_id=deployment.number_id,
            token="pbt_not-a-token",
            session=httpx.AsyncClient(transport=ToPasserelle(deployment.base_url)),
        )
        with pytest.raises(pywa_errors.ExpiredAccessToken) as refused:
            await wrong.send_message(to=ids["Marie"], text="x")
        assert refused.value.code == 190 and refused.value.status_code == 401
        await wrong.api._session.aclose()

        # A malformed body (pywa would not send one): 100, naming the field.
        raw = await http.post(
            f"{deployment.base_url}/v26.0/{deployment.number_id}/messages",
            json={"messaging_product": "whatsapp", "recipient": ids["Marie"], "type": "text", "text": {}},
            headers={"Authorization": wa.api._session.headers["Authorization"]},
        )
        assert raw.status_code == 400 and raw.json()["error"]["code"] == 100
        assert "text.body" in raw.json()["error"]["message"]

        # A person who blocked the business (on their own app): 131026, MessageUndeliverable.
        await marie.privacy.block(business)
        with pytest.raises(pywa_errors.MessageUndeliverable) as blocked:
            await wa.send_message(to=ids["Marie"], text="Vous êtes là ?")
        assert blocked.value.code == 131026

        # The window: 24 hours after the person's last message, 131047, ReEngagementMessage.
        server.clock.advance(25 * 3600)
        with pytest.raises(pywa_errors.ReEngagementMessage) as late:
            await wa.send_message(to=ids["Alice"], text="Une promo ?")
        assert late.value.code == 131047
        await alice.send_text(business, "me revoilà")  # the person writes: the window opens again
        await bot.wait_until(lambda u: "me revoilà" in texts(u))
        assert (await wa.send_message(to=ids["Alice"], text="Bon retour")).id
        assert not bot.errors
    finally:
        for person in people.values():
            await person.close()


async def test_a_bot_that_was_down_gets_every_message_once(
    deployment: Deployment, server: ServerHandle, tmp_path: Path
) -> None:
    bot = deployment.bot

    async def noted(client: WhatsApp, msg: Message) -> None:
        return None

    bot.wa.on_message(filters=None)(bot.handler(noted))
    people = await customers(server, tmp_path)
    try:
        business = str((await people["Alice"].businesses.find("biz:velo-paris")).account_id)
        await people["Alice"].send_text(business, "avant")
        await bot.wait_until(lambda u: texts(u) == ["avant"])
        # The bot's web server goes down: its address drops every connection, counting them.
        await bot.stop()
        attempts = asyncio.Event()
        tries: list[int] = []

        async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            tries.append(1)
            if len(tries) >= 3:
                attempts.set()
            writer.close()

        down = await asyncio.start_server(drop, "127.0.0.1", bot.port, reuse_address=True)
        for name, person in people.items():
            await person.send_text(business, f"pendant, {name}")
        async with asyncio.timeout(15):
            await attempts.wait()  # the outbox tried, failed and tried again
        down.close()
        await down.wait_closed()
        await bot.start()  # back on the same URL
        await bot.wait_until(lambda u: len(texts(u)) >= 4, within=20)
        await people["Marie"].send_text(business, "après")
        await bot.wait_until(lambda u: "après" in texts(u))
        got = texts(bot.updates)
        assert sorted(got) == sorted(["avant", "après"] + [f"pendant, {name}" for name in people])
        ids = [u.id for u in bot.updates if isinstance(u, Message)]
        assert len(ids) == len(set(ids))  # each once
        assert not bot.errors
    finally:
        for person in people.values():
            await person.close()


async def test_pywa_reads_and_changes_the_business_through_the_graph_calls(
    deployment: Deployment, server: ServerHandle, tmp_path: Path
) -> None:
    """The control-plane calls pywa makes (answered by the server; a self-run endpoint forwards
    them): the number, the profile, and blocking a person who wrote."""
    bot, wa = deployment.bot, deployment.bot.wa

    async def noted(client: WhatsApp, msg: Message) -> None:
        return None

    bot.wa.on_message(filters=None)(bot.handler(noted))
    people = await customers(server, tmp_path)
    try:
        number = await wa.get_business_phone_number()
        assert number.id == deployment.number_id and number.verified_name == "Vélo Paris"
        assert number.display_phone_number == "+" + deployment.display
        profile = await wa.get_business_profile()
        assert profile.about == "Bikes" and profile.industry.value == "UNDEFINED"
        assert await wa.update_business_profile(about="Location de vélos", industry=Industry.RETAIL)
        profile = await wa.get_business_profile()
        assert profile.about == "Location de vélos" and profile.industry is Industry.RETAIL

        marie = people["Marie"]
        business = str((await marie.businesses.find("biz:velo-paris")).account_id)
        await marie.send_text(business, "bonjour")
        await bot.wait_until(lambda u: len(texts(u)) >= 1)
        person = bot.updates[0].from_user
        blocked = await wa.block_users([person.bsuid])
        assert [u.bsuid for u in blocked.added_users] == [person.bsuid] and not blocked.failed_users
        listed = await wa.get_blocked_users()
        assert [(u.wa_id, u.bsuid) for u in listed] == [(person.wa_id, person.bsuid)]
        with pytest.raises(pywa_errors.MessageUndeliverable):
            await wa.send_message(to=person.bsuid, text="bloqué")
        unblocked = await wa.unblock_users([person.bsuid])
        assert [u.bsuid for u in unblocked.removed_users] == [person.bsuid]
        assert list(await wa.get_blocked_users()) == []
    finally:
        for client in people.values():
            await client.close()


DOCS = Path(__file__).resolve().parents[2] / "docs" / "business.md"


def documented_bot() -> str:
    """The pywa bot of docs/business.md ("Pointing an existing Cloud API bot"), as written."""
    text = DOCS.read_text("utf-8")
    section = text[text.index("### Pointing an existing Cloud API bot") :]
    [snippet] = re.findall(r"^```python\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)[:1]
    return str(snippet)


async def test_the_documented_pywa_bot_runs_as_written(
    deployment: Deployment, server: ServerHandle, tmp_path: Path
) -> None:
    """The docs' snippet with this deployment's values put where it says: a person writes, the bot
    greets them by name with two reply buttons."""
    bot = deployment.bot
    values = {
        "PASSERELLE = ": f'"{deployment.base_url}"',
        "phone_id=": f'"{bot.phone_id}"',
        "token=": f'"{bot.token}"',
        "verify_token=": f'"{bot.verify_token}"',
        "app_secret=": f'"{bot.app_secret}"',
        "waba_id=": f'"{bot.waba_id}"',
    }
    code = documented_bot()
    for name, value in values.items():
        code, count = re.subn(
            rf"^(\s*{re.escape(name)})\"[^\"]*\"", rf"\g<1>{value}", code, flags=re.MULTILINE
        )
        assert count == 1, f"the snippet sets {name} once"
    names: dict[str, Any] = {}
    exec(compile(code, str(DOCS), "exec"), names)  # the documented program, as written
    await bot.stop()
    await bot.start(names["app"])  # the documented bot at the URL the operator set
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password=PW, display_name="Alice"
    )
    screen = Screen(alice)
    try:
        await alice.connect()
        business = str((await alice.businesses.find("biz:velo-paris")).account_id)
        await alice.send_text(business, "Bonjour")
        # photo shows no buttons: Alice sees them numbered (docs/bots.md, "Fallback").
        greeting = await screen.seen(shown(f"Bonjour Alice !\n1. Louer\n2. Réparer\n{NUMBER_PROMPT}"))
        assert isinstance(greeting, Shown) and greeting.sender == business
        assert alice.businesses.choices(greeting) == {"rent": "Louer", "repair": "Réparer"}
        await screen.seen(lambda e: isinstance(e, ReceiptEvent) and e.kind == "read")
    finally:
        await screen.close()
        await alice.close()
        await names["wa"].api._session.aclose()


async def test_pywa_sends_templates_and_sees_the_persons_stop(
    deployment: Deployment, server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Outside the window an approved template goes to a person who opted in; after the person types
    STOP on their app, a marketing template fails with pywa's ``UserStoppedMarketingMessages``
    (131050), a utility template still goes, and pywa's ``on_user_marketing_preferences`` fires."""
    bot = deployment.bot
    marie = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", display_name="Marie", password=PW
    )
    await marie.connect()
    screen = Screen(marie)

    async def noted(client: WhatsApp, update: Any) -> None:
        return None

    bot.wa.on_message(filters=None)(bot.handler(noted))
    bot.wa.on_user_marketing_preferences(filters=None)(bot.handler(noted))
    wa = bot.wa
    try:
        for name, category in (("spring_sale", "MARKETING"), ("order_ready", "UTILITY")):
            made = await http.post(
                f"{server.url}/v22.0/{bot.waba_id}/message_templates",
                json={
                    "name": name,
                    "language": "fr",
                    "category": category,
                    "components": [
                        {"type": "BODY", "text": "Bonjour {{1}} !", "example": {"body_text": [["Marie"]]}}
                    ],
                },
                headers={"Authorization": wa.api._session.headers["Authorization"]},
            )
            assert made.status_code == 200, made.text
            if made.json()["status"] != "APPROVED":
                approved = await http.post(f"/v1/admin/templates/{made.json()['id']}/approve", headers=AUTH)
                assert approved.status_code == 200, approved.text
        shop = await marie.businesses.find("biz:velo-paris")
        await marie.businesses.opt_in(shop.business_id, "marketing")
        await marie.businesses.opt_in(shop.business_id, "utility")
        await marie.send_text(str(shop.account_id), "bonjour")
        await bot.wait_until(lambda u: "bonjour" in texts(u))
        to = next(u.from_user.bsuid for u in bot.updates if isinstance(u, Message))
        server.clock.advance(25 * 3600)

        lang = TemplateLanguage.FRENCH
        sent = await wa.send_template(
            to=to, name="spring_sale", language=lang, params=[BodyText.params("Marie")]
        )
        assert sent.id.startswith("wamid.")
        await screen.seen(shown("Bonjour Marie !"))

        await marie.send_text(str(shop.account_id), "STOP")
        await bot.wait_until(lambda u: any(isinstance(x, UserMarketingPreferences) for x in u))
        stop = next(x for x in bot.updates if isinstance(x, UserMarketingPreferences))
        assert stop.value == "stop" and stop.from_user.wa_id
        server.clock.advance(25 * 3600)  # the STOP opened the window again
        with pytest.raises(pywa_errors.UserStoppedMarketingMessages) as stopped:
            await wa.send_template(
                to=to, name="spring_sale", language=lang, params=[BodyText.params("Marie")]
            )
        assert stopped.value.code == 131050
        ready = await wa.send_template(
            to=to, name="order_ready", language=lang, params=[BodyText.params("M")]
        )
        assert ready.id.startswith("wamid.")
        assert not bot.errors
    finally:
        await screen.close()
        await marie.close()
