"""The demo's script: three people on three apps talk through one server, each on the real SDK.

bob is on ``chat`` (a phone number and a code), alice on ``photo`` (a handle and a password), carol
on ``social`` (a username, a real name and a password). They write 1:1 in every direction; bob adds
a laptop; carol goes offline and finds exactly what was sent meanwhile; bob and carol turn on
disappearing messages; alice watches her message get delivered, then read. Every line printed is
something one of their screens showed, checked before it is printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.view import AppStyles, safety_rows, timer_words, when
from passerelle.cli.demo.people import DemoFailed, Device, Person, SmsStandIn
from passerelle.cli.demo.scenes import Scenes
from passerelle.cli.demo.stage import Stage
from passerelle.domain.conversations import DAY_S, direct_conversation_id
from passerelle.domain.ids import AccountId
from passerelle.sdk import Client, DeviceEvent, Message, ReceiptEvent, TimerEvent, TypingEvent

BOB_PHONE = "+33612345678"
PASSWORD = "demo only: correct horse battery staple"
ADDRESSES = {"alice": "photo:alice", "bob": f"chat:{BOB_PHONE}", "carol": "social:carol.b"}


def text_is(text: str) -> Callable[[Message], bool]:
    return lambda message: message.text == text


class Script(Stage):
    def __init__(
        self,
        *,
        url: str,
        clients_dir: Path,
        phone: SmsStandIn,
        console: Console,
        styles: AppStyles,
        stack: AsyncExitStack,
    ) -> None:
        super().__init__(console=console, styles=styles)
        self.url = url
        self.clients_dir = clients_dir
        self.phone = phone
        self.stack = stack
        self._open: dict[Client, asyncio.Task[None]] = {}
        """Each open client and the task reading its events onto its screen."""

    async def run(self) -> None:
        scenes = Scenes(self)
        alice, bob, carol = await self.register()
        await self.introduce(alice, bob, carol)
        await scenes.request(alice, bob)
        await self.one_to_one(alice, bob, carol)
        await self.safety_numbers(alice, bob)
        laptop = await self.second_device(alice, bob)
        await self.offline_recipient(alice, carol)
        await self.disappearing(bob, carol, laptop)
        await self.receipts(alice, bob)
        await scenes.group(alice, bob, carol, laptop)
        await scenes.story(alice, bob)

    # --- devices ---------------------------------------------------------------------------------------

    async def connected(self, label: str, store: Path, client: Client) -> Device:
        """Watch the client's events, connect it, and close it when the demo ends."""
        device = Device.of(label, store, client)
        device.following = asyncio.create_task(device.screen.follow(), name=f"screen of {label}")
        self._open[client] = device.following
        self.stack.push_async_callback(self.close, client)
        await client.connect()
        return device

    async def close(self, client: Client) -> None:
        """Close the client; its screen's reader then ends (its stream ends with the client)."""
        following = self._open.pop(client, None)
        if following is not None:
            try:
                await client.close()
            finally:
                await following

    async def phone_code(self) -> str:
        code = await self.phone.receive(BOB_PHONE)
        self.console.print(f"📱 SMS stand-in: bob's phone received a one-time code for {BOB_PHONE}")
        return code

    # --- the scenes ----------------------------------------------------------------------------------

    async def register(self) -> tuple[Person, Person, Person]:
        self.section("Three people, three apps, one server")
        await Client.request_code(self.url, "chat", BOB_PHONE)
        code = await self.phone_code()
        store = self.clients_dir / "bob"
        client = await Client.register(
            self.url,
            store,
            app="chat",
            phone=BOB_PHONE,
            code=code,
            display_name="Bob",
            device_name="Bob's phone",
        )
        bob = Person(name="bob", app="chat", device=await self.connected("Bob's phone", store, client))
        self.console.print(Text.assemble("✓ ", self.who(bob), f" registered as {client.address} (a code)"))

        store = self.clients_dir / "alice"
        client = await Client.register(
            self.url, store, app="photo", handle="alice", password=PASSWORD, device_name="Alice's phone"
        )
        alice = Person(name="alice", app="photo", device=await self.connected("Alice's phone", store, client))
        self.console.print(
            Text.assemble("✓ ", self.who(alice), f" registered as {client.address} (a password)")
        )

        store = self.clients_dir / "carol"
        client = await Client.register(
            self.url,
            store,
            app="social",
            username="carol.b",
            display_name="Carol Bernard",
            password=PASSWORD,
            device_name="Carol's phone",
        )
        carol = Person(
            name="carol", app="social", device=await self.connected("Carol's phone", store, client)
        )
        self.console.print(
            Text.assemble(
                "✓ ", self.who(carol), f" registered as {client.address}, Carol Bernard (a profile)"
            )
        )
        await client.settings(findability="everyone")
        self.note("carol lets people of every app find her (Social's default: Social only)")
        return alice, bob, carol

    async def introduce(self, *people: Person) -> None:
        self.section("Finding each other by address")
        for person in people:
            found: list[str | Text] = [self.who(person), " finds"]
            for other in people:
                if other is person:
                    continue
                contact = await person.client.lookup(ADDRESSES[other.name])
                person.contacts[other.name] = contact
                found += [
                    " and " if len(found) > 2 else " ",
                    self.styles.person(contact.app, contact.display_name),
                ]
                if contact.address is None:
                    found.append(Text(" (a phone number: never shown to other apps)", style="dim"))
            self.console.print(Text.assemble(*found))

    async def one_to_one(self, alice: Person, bob: Person, carol: Person) -> None:
        self.section("1:1 across apps, end-to-end encrypted")
        await self.say(bob, alice, "Très bien, merci Alice ! Je t'écris depuis Chat 🙂")
        await self.say(bob, carol, "Salut Carol, café jeudi à l'Étoile ? ☕")
        await self.say(carol, bob, "Oui ! Jeudi 10 h, c'est noté 👍")
        await self.say(alice, carol, "Carol, tu as vu mes photos de Zürich ? 🏔️")
        await self.say(carol, alice, "Magnifiques ! Grüße aus Köln — ありがとう")

    async def safety_numbers(self, alice: Person, bob: Person) -> None:
        self.section("Safety numbers: alice and bob check each other's keys")
        on_alice = await alice.client.safety_number(alice.account_of(bob))
        on_bob = await bob.client.safety_number(bob.account_of(alice))
        self.console.print(f"   {'on alice’s phone (for bob)':<28}on bob’s phone (for alice)")
        for left, right in zip(safety_rows(on_alice), safety_rows(on_bob), strict=True):
            self.console.print(f"   {left:<28}{right}")
        if on_alice != on_bob:
            raise DemoFailed("alice and bob see different safety numbers")
        self.console.print("✓ the same 60 digits on both screens: no one sits between them")

    async def second_device(self, alice: Person, bob: Person) -> Device:
        self.section("bob adds a laptop")
        await Client.request_code(self.url, "chat", BOB_PHONE)
        code = await self.phone_code()
        store = self.clients_dir / "bob-laptop"
        client = await Client.add_device(
            self.url, store, app="chat", phone=BOB_PHONE, code=code, device_name="Bob's laptop"
        )
        laptop = await self.connected("Bob's laptop", store, client)
        self.console.print(Text.assemble("✓ ", self.who(bob), " added a device: Bob's laptop"))
        await bob.screen.wait_for(
            DeviceEvent,
            lambda e: e.event == "added" and e.device_id == client.device_id,
            what="bob's phone learning of the laptop",
        )
        self.note("bob's phone: 🔐 a new device, Bob's laptop, was added to your account")

        text = "Tu me lis sur ton ordinateur ? 💻"
        await self.say(alice, bob, text)
        await laptop.screen.wait_for(Message, lambda m: m.text == text, what="bob's laptop receiving it")
        self.note("arrived on Bob's phone and on Bob's laptop, each device with its own keys")

        text = "Oui, je te lis sur mon ordi ⌨️ — à tout à l'heure !"
        await self.say(bob, alice, text, device=laptop, label="laptop")
        copy = await bob.screen.wait_for(
            Message, lambda m: m.text == text, what="bob's phone receiving the laptop's copy"
        )
        if not copy.outgoing or copy.sender_device != client.device_id:
            raise DemoFailed("bob's phone did not show the laptop's message as his own")
        self.note("bob's phone shows it among his own sent messages: outgoing, from Bob's laptop")
        return laptop

    async def offline_recipient(self, alice: Person, carol: Person) -> None:
        self.section("carol is offline")
        store = carol.device.store
        await self.close(carol.client)
        self.console.print(Text.assemble(self.who(carol), " closes Social"))
        texts = ["Carol, tu es là ? 🌙", "L'adresse : 12 rue de l'Église, Besançon — code 1984 🔑"]
        for text in texts:
            await alice.client.send_text(alice.account_of(carol), text)
            self.sent.append(text)
            self.console.print(Text.assemble(self.who(alice), " → ", self.who(carol), ": ", text))
        self.note("the server keeps them for carol's device, encrypted, until she comes back")

        client = await Client.open(store)
        carol.device = await self.connected("Carol's phone", store, client)
        for text in texts:
            await carol.screen.wait_for(Message, text_is(text), what=f"carol receiving {text!r}")
        extra = carol.screen.pending(Message)
        conv = direct_conversation_id(carol.client.account_id, AccountId(carol.account_of(alice)))
        latest = [m.text for m in await carol.client.history(conv, limit=2)]
        if extra or latest != texts:
            raise DemoFailed(f"carol did not get exactly the two messages, in order: {latest}")
        self.console.print(
            Text.assemble(
                self.who(carol), " opens Social again and receives exactly those 2 messages, in order"
            )
        )

    async def disappearing(self, bob: Person, carol: Person, laptop: Device) -> None:
        self.section("Disappearing messages")
        conv = direct_conversation_id(bob.client.account_id, AccountId(bob.account_of(carol)))
        await bob.client.set_timer(conv, DAY_S)
        self.console.print(
            Text.assemble(self.who(bob), f" turns on disappearing messages ({timer_words(DAY_S)}) with carol")
        )
        for device, who in ((carol.device, "carol's phone"), (laptop, "Bob's laptop")):
            await device.screen.wait_for(
                TimerEvent,
                lambda e: e.seconds == DAY_S and e.sender == bob.client.account_id,
                what=f"{who} seeing the timer",
            )
            self.note(f"{who}: ⏱ bob set disappearing messages to {timer_words(DAY_S)}")
        await carol.client.set_typing(conv, True)
        await bob.screen.wait_for(TypingEvent, lambda e: e.typing, what="bob seeing carol typing")
        self.note("bob's phone: carol is typing…")
        sent, got = await self.say(carol, bob, "Ce message s'effacera dans 24 h ⏳")
        if sent.expires_at != sent.ts + DAY_S * 1000 or got.expires_at is None:
            raise DemoFailed("the message does not carry its 24 h expiry")
        self.note(f"it carries its expiry: every device deletes it at {when(sent.expires_at)}")

    async def receipts(self, alice: Person, bob: Person) -> None:
        self.section("Delivery and read receipts")
        sent, got = await self.say(alice, bob, "Tu viens samedi ? 🎂")
        await alice.screen.wait_for(
            ReceiptEvent,
            lambda r: r.kind == "delivered" and sent.id in r.ids,
            what="alice seeing ✓ delivered",
        )
        self.note("alice's screen: ✓ delivered")
        await bob.client.mark_read(got.conv, [sent.id])
        await alice.screen.wait_for(
            ReceiptEvent, lambda r: r.kind == "read" and sent.id in r.ids, what="alice seeing ✓✓ read"
        )
        self.note("bob reads it; alice's screen: ✓✓ read")
