"""``passerelle demo business``: one business, reached from three apps, answered by one bot.

The server runs in this process (``server.demo_server``) as for ``passerelle demo``. The operator
(its admin API, over HTTP) creates the business ``biz:velo-paris`` (verified, a number, a bot
token) and enrols its *self-run* endpoint, which runs beside the bot (``server.self_run_endpoint``,
with its keys in ``<dir>/business``: the business's machine, not the server's). The bot
(``bot.VeloBot``) is a plain Cloud API bot pointed at that endpoint, receiving signed webhooks.
alice (photo), bob (chat) and carol (social) find the business, check that its endpoint is
self-run from the statement it signed, write to it, and tap its buttons and list. Every line
printed is something a person's screen or the bot received, checked before it is printed. Then the
same proof as ``passerelle demo``: no text of the conversation is in the server's files or logs.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.view import AppStyles
from passerelle.cli.demo import bot as velo
from passerelle.cli.demo.people import STEP_TIMEOUT_S, DemoFailed, Person, SmsStandIn
from passerelle.cli.demo.script import Script
from passerelle.cli.demo.server import demo_server, demo_settings, self_run_endpoint
from passerelle.config import Settings
from passerelle.sdk import Message

SLUG = "velo-paris"
NAME = "Vélo Paris"
DISPLAY_NUMBER = "+33 1 23 45 67 89"
BUSINESS_STYLE = "bold green"
HELLO = {"alice": "Bonjour ! Vous louez des vélos ?", "bob": "Salut, mon vélo a un souci", "carol": "Hallo!"}
CHOICES = {"alice": ("rent", "cargo"), "bob": ("repair", None), "carol": ("rent", "ebike")}
"""What each person taps: a menu button, then (after "rent") a bike of the list."""


def business_settings(server_dir: Path) -> Settings:
    """The demo's server, with an operator (a fresh admin token) and its name."""
    return demo_settings(server_dir, admin_token=secrets.token_urlsafe(24), operator_name="Passerelle Demo")


class Operator:
    """The operator's admin API calls that set the business up."""

    def __init__(self, url: str, admin_token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=15.0
        )

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = await self.http.request(method, path, json=body)
        if answer.status_code not in (200, 201):
            raise DemoFailed(f"the admin API refused {method} {path}: {answer.text}")
        return answer.json()

    async def aclose(self) -> None:
        await self.http.aclose()


class BusinessScript(Script):
    """The people of ``passerelle demo`` (their registration and devices), and a business."""

    def __init__(self, *, admin_token: str, business_dir: Path, **script: Any) -> None:
        super().__init__(**script)
        self.admin_token = admin_token
        self.business_dir = business_dir

    async def run(self) -> None:
        operator = Operator(self.url, self.admin_token)
        self.stack.push_async_callback(operator.aclose)
        self.bot = await self.open_business(operator, self.business_dir)
        people = await self.register()
        for person in people:
            await self.visit(person)
        if self.bot.failures:
            raise DemoFailed(self.bot.failures[0])
        if self.bot.refused_posts:
            raise DemoFailed(f"the bot refused {self.bot.refused_posts} webhooks (bad signature)")

    async def open_business(self, operator: Operator, business_dir: Path) -> velo.VeloBot:
        self.section("A business on every app: the operator sets it up, the business runs its bot")
        made = await operator.call(
            "POST",
            "/v1/admin/businesses",
            {"slug": SLUG, "name": NAME, "about": "Location et réparation de vélos", "verified": True},
        )
        business = made["business_id"]
        account = await operator.call("POST", f"/v1/admin/businesses/{business}/accounts", {"name": "main"})
        number = await operator.call(
            "POST",
            f"/v1/admin/businesses/{business}/numbers",
            {"waba_id": account["waba_id"], "display_number": DISPLAY_NUMBER},
        )
        token = await operator.call("POST", f"/v1/admin/businesses/{business}/tokens", {"label": "bot"})
        self.console.print(
            Text.assemble(
                "✓ ",
                (NAME, BUSINESS_STYLE),
                f" created as biz:{SLUG}, verified, number {number['display_phone_number']}",
                f" (phone_number_id {number['phone_number_id']}), a bot token",
            )
        )
        bot = velo.VeloBot(phone_number_id=number["phone_number_id"], token=token["token"])
        await bot.start()
        self.stack.push_async_callback(bot.stop)
        hook = {
            "callback_url": bot.webhook_url,
            "verify_token": bot.verify_token,
            "app_secret": bot.app_secret,
        }
        await operator.call("PUT", f"/v1/admin/businesses/{business}/webhook", hook)
        self.console.print(f"✓ the bot's webhook {bot.webhook_url} answered the server's handshake")
        enrolment = await operator.call(
            "POST", f"/v1/admin/businesses/{business}/enrolments", {"mode": "self_run"}
        )
        bot.base_url = await self.stack.enter_async_context(
            self_run_endpoint(self.url, business_dir, enrolment["token"])
        )
        self.console.print(
            f"✓ the business's self-run endpoint holds its keys in {business_dir}, and serves the bot the"
            f" Cloud API on {bot.base_url}"
        )
        return bot

    def business(self) -> Text:
        return Text(NAME, style=BUSINESS_STYLE)

    async def visit(self, person: Person) -> None:
        """``person`` finds the business, writes, taps the menu, and (renting) picks a bike."""
        self.section(f"{person.name} on {self.styles.names.get(person.app, person.app)}")
        client = person.client
        found = await client.businesses.find(f"biz:{SLUG}")
        hosting = await client.businesses.hosting(found)
        if hosting.mode != "self_run" or not found.verified:
            raise DemoFailed(f"{person.name} sees {NAME} as {hosting.mode} ({hosting.problem})")
        self.console.print(
            Text.assemble(
                self.who(person),
                " finds ",
                self.business(),
                " ✓ verified, its endpoint run by the business itself (a statement signed by its key)",
            )
        )
        account = str(found.account_id)
        hello = HELLO[person.name]
        await client.send_text(account, hello)
        self.sent.append(hello)
        self.console.print(Text.assemble(self.who(person), " → ", self.business(), ": ", hello))
        await self.bot_heard(person, f"“{hello}”")
        menu = await self.shown(person, account, lambda m: m.cloud is not None)
        self.sent.append(velo.GREETING.format(name=self.display_name(person)))
        self.show_business(person, menu)
        button, bike = CHOICES[person.name]
        await client.businesses.tap(menu, button)
        self.console.print(Text.assemble(self.who(person), f" taps [{velo.MENU[button]}]"))
        await self.bot_heard(person, f"a tap on [{velo.MENU[button]}]")
        if bike is None:
            answer = await self.shown(person, account, lambda m: m.text == velo.REPAIR)
            self.show_business(person, answer)
            return
        bikes = await self.shown(person, account, lambda m: m.cloud is not None and m.id != menu.id)
        self.show_business(person, bikes)
        await client.businesses.tap(bikes, bike)
        title = velo.BIKES[bike][0]
        self.console.print(Text.assemble(self.who(person), f" picks “{title}”"))
        await self.bot_heard(person, f"a tap on [{title}]")
        booked = velo.BOOKED.format(bike=title, name=self.display_name(person))
        answer = await self.shown(person, account, lambda m: m.text == booked)
        self.sent.append(booked)
        self.show_business(person, answer)
        # The bot's reaction on the person's choice; an app that shows no reactions (social) shows
        # it as a line of text.
        fallback = f"{velo.REACTION} reacted to: “{title}”"
        reacted = await person.screen.wait_for(
            Message,
            lambda m: (
                (m.outgoing and (account, velo.REACTION) in m.reactions)
                or (m.sender == account and m.text == fallback)
            ),
            what=f"{person.name} seeing the bot's {velo.REACTION}",
        )
        if reacted.outgoing:
            self.note(f"{person.name}'s screen: {NAME} reacted {velo.REACTION} to “{title}”")
        else:
            self.note(f"{person.name}'s screen (no reactions on this app): {NAME}: {fallback}")

    def display_name(self, person: Person) -> str:
        heard = [h for h in self.bot.heard if h.what.startswith("“") and h.what[1:-1] == HELLO[person.name]]
        return heard[0].name if heard else person.name

    async def bot_heard(self, person: Person, what: str) -> None:
        """Wait until the bot received ``what`` from ``person``; show it as the bot got it."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                heard = await self.bot.wait_heard(what)
        except TimeoutError:
            raise DemoFailed(f"the bot did not receive {what} from {person.name}") from None
        except RuntimeError as failed:
            raise DemoFailed(str(failed)) from None
        self.note(f"🤖 the bot's webhook: {what} from “{heard.name}”, {heard.user_id} (a per-business id)")

    async def shown(self, person: Person, account: str, where: Any) -> Message:
        return await person.screen.wait_for(
            Message,
            lambda m: m.sender == account and not m.outgoing and where(m),
            what=f"{person.name} receiving {NAME}'s answer",
        )

    def show_business(self, person: Person, message: Message) -> None:
        """A business message as the person's app shows it: its text, its buttons or list."""
        line = Text.assemble(self.business(), " → ", self.who(person), ": ")
        cloud = message.cloud or {}
        interactive = cloud.get("interactive") if cloud.get("type") == "interactive" else None
        if interactive is None:
            self.console.print(line.append(message.text))
            return
        body = interactive.get("body", {}).get("text", "")
        header = interactive.get("header", {}).get("text", "")
        self.console.print(line.append(f"{header} — {body}" if header else body))
        choices = person.client.businesses.choices(message)
        chips = Text("   ")
        if interactive.get("type") == "list":
            chips.append(f"☰ {interactive['action']['button']}: ", style="bold")
            chips.append(" · ".join(choices.values()))
        else:
            for title in choices.values():
                chips.append(f" {title} ", style="reverse").append(" ")
        self.console.print(chips)


async def converse(
    settings: Settings,
    phone: SmsStandIn,
    root: Path,
    console: Console,
    styles: AppStyles,
    *,
    script_class: type[BusinessScript] | None = None,
) -> list[tuple[str, str]]:
    """Start the server, set the business up, run the visits; returns what was sent (plaintexts)."""
    async with demo_server(settings, phone) as url:
        apps = ", ".join(f"{a.display_name} ({a.identity.value})" for a in settings.apps)
        console.print(Text.assemble(Text("Passerelle", style="bold"), f" on {url} — apps: {apps}"))
        console.print(Text(f"Server data (SQLite): {settings.data_dir}", style="dim"))
        async with AsyncExitStack() as stack:
            script = (script_class or BusinessScript)(
                admin_token=settings.admin_token,
                business_dir=root / "business",
                url=url,
                clients_dir=root / "clients",
                phone=phone,
                console=console,
                styles=styles,
                stack=stack,
            )
            await script.run()
        return script.plaintexts() + (velo.bot_texts() if script_class is None else [])
