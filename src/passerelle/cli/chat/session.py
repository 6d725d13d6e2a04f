"""ChatSession: the interactive loop of ``passerelle chat``.

Two tasks in one TaskGroup: one prints the client's events as they arrive, the other reads lines
from standard input (``StdinLines``, never a blocking ``input()``) and runs them one at a time: a
command (``/to photo:alice``) or a message to the current person. ``/quit`` or the end of the input
ends the session; a fatal client error (this device was removed) ends it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.businesses import BusinessCommands
from passerelle.cli.chat.content import ContentCommands
from passerelle.cli.chat.events import EventPrinter
from passerelle.cli.chat.files import FileCommands
from passerelle.cli.chat.groups import GroupCommands, not_found
from passerelle.cli.chat.input import StdinLines
from passerelle.cli.chat.requests import RequestCommands
from passerelle.cli.chat.settings import SettingsCommands
from passerelle.cli.chat.shown import is_group, sent_message
from passerelle.cli.chat.slash import Target
from passerelle.cli.chat.view import TIMER_CHOICES, AppStyles, clock, safety_rows, timer_words, when
from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import (
    Client,
    Contact,
    Event,
    Forbidden,
    Message,
    MessageState,
    NotFound,
    RequestEvent,
    SdkError,
    TooLarge,
    Unavailable,
)

HELP = """\
/to <address>     talk to someone: /to photo:alice, /to chat:+33612345678, /to social:marie.d
                  (or /to <n>, a number from /list; /to #NAME or /to #<n> talks in a group)
/reply            talk to the last person who wrote to you
/list             your conversations
/history [n]      the last n messages with the current person or group (20)
/timer <t>        disappearing messages here: off, 24h, 7d, 30d, 90d, 365d
/safety           the safety number you and the current person compare to verify your keys
/devices          the devices of your account
/read             mark the current conversation read (the sender sees ✓✓ read)
/groups           your groups;  /group new NAME ADDRESS…, /group add|remove ADDRESS, /group leave
/send-file PATH [caption]   send a file or image here, encrypted;  /save N PATH  save one received
/requests         messages from people not in your contacts;  /accept, /decline, /block [N]
/unblock ADDRESS  let someone you blocked write again;  /blocked  whom you blocked
/settings         your privacy: /settings findable everyone|app|nobody, messages everyone|contacts,
                  receipts on|off, last-seen everyone|contacts|nobody
/business ADDRESS  a business's profile (biz:velo-paris or its number);  /consents  yours
/optin ADDRESS SCOPE   let a business send you marketing|utility|authentication;  /optout … stop
/react N 👍       react to message (N) (/react N - removes it);  /reply N text  reply quoting it
/edit N text      edit a message you sent;  /delete N  delete it for everyone
/story TEXT       a 24-hour story for your contacts;  /stories  your contacts' stories
/help             this list
/quit             leave (Ctrl-D too)
Any other line is sent to the current person or group; (N) before a message is its number."""


CONNECT_WAIT_S = 10.0
NOBODY = "not sent: pick someone first: /to photo:alice, or a group: /to #NAME (/help lists commands)"


class Quit(Exception):
    """/quit: the session ends normally."""


class ChatSession:
    def __init__(self, client: Client, console: Console, lines: StdinLines, styles: AppStyles) -> None:
        self.client = client
        self.console = console
        self.lines = lines
        self.styles = styles
        self.printer = EventPrinter(client, console, styles)
        self.target = Target()
        self.last_sender: AccountId | None = None
        self.listed: list[AccountId] = []
        self.groups = GroupCommands(client, self.printer, self.target, self.say)
        self.files = FileCommands(client, self.printer, self.target, self.say)
        self.requests = RequestCommands(client, self.printer, self.target, self.say)
        self.content = ContentCommands(client, self.printer, self.target, self.say)
        self.privacy = SettingsCommands(client, self.say)
        self.businesses = BusinessCommands(client, self.say)
        self.commands: dict[str, Callable[[str], Awaitable[None]]] = {
            **self.groups.commands(),
            **self.files.commands(),
            **self.requests.commands(),
            **self.content.commands(),
            **self.privacy.commands(),
            **self.businesses.commands(),
            "/to": self.to,
            "/reply": self.reply,
            "/list": self.list,
            "/history": self.history,
            "/timer": self.timer,
            "/safety": self.safety,
            "/devices": self.devices,
            "/read": self.read,
            "/help": self.help,
            "/quit": self.quit,
            "/exit": self.quit,
        }

    async def run(self) -> int:
        """Connect, then chat until /quit or the end of the input. Returns the exit status."""
        stream = self.client.events()  # before connecting: what waited in the mailbox comes first
        await self.printer.notices.learn()
        await self.printer.devices.learn()
        while True:  # the server answered (reach.py); the WebSocket may still take a while
            try:
                await self.client.connect(timeout_s=CONNECT_WAIT_S)
                break
            except Unavailable:
                self.say(
                    f"… still connecting to {self.client.server_url}, in the background (Ctrl-C to stop)",
                    style="dim",
                )
        me = Text.assemble("Connected as ", self.styles.tag(self.client.app), f" {self.client.address or ''}")
        self.console.print(me)
        self.console.print("Type /to <address> to pick someone, then type messages. /help lists commands.")
        status = 0
        try:
            async with asyncio.TaskGroup() as tg:
                printer = tg.create_task(self._print_events(stream))
                await self._read_commands()
                printer.cancel()
        except* SdkError as group:
            self.console.print(Text(f"✗ the connection ended: {group.exceptions[0]}", style="red"))
            status = 1
        return status

    @property
    def peer(self) -> AccountId | None:
        return self.target.peer

    async def _print_events(self, stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            await self.printer.show(event)
            if isinstance(event, RequestEvent):
                self.requests.heard(event)
            if isinstance(event, Message) and not event.outgoing:
                if is_group(event.conv):
                    if not self.target.chosen:
                        self.target.in_group(event.conv)
                        self.say("(type to answer in the group; /to picks someone else)", style="dim")
                    continue
                self.last_sender = event.sender
                if not self.target.chosen:
                    self.target.person(event.sender)
                    self.say("(type to answer; /to picks someone else)", style="dim")

    async def _read_commands(self) -> None:
        while (line := await self.lines.readline()) is not None:
            line = line.strip()
            if not line:
                continue
            word, _, rest = line.partition(" ")
            command = self.commands.get(word.lower()) if word.startswith("/") else None
            try:
                if command is not None:
                    await command(rest.strip())
                elif word.startswith("/"):
                    self.say(f"unknown command {word}; /help lists them", style="yellow")
                else:
                    await self.send(line)
            except Quit:
                return
            except SdkError as exc:
                self.say(f"✗ {self.explain(exc)}", style="red")

    def explain(self, exc: SdkError) -> str:
        if isinstance(exc, Forbidden) and "unblock" in exc.message:
            return f"{exc.message}: /unblock (or /blocked lists whom you blocked)"
        if isinstance(exc, TooLarge):
            return f"{exc.message}: not sent (split it, or send it as a file with /send-file)"
        if isinstance(exc, Unavailable):
            return f"{exc.message} (at {self.client.server_url}); this device reconnects by itself once it answers"
        return exc.message

    def say(self, text: str | Text, *, style: str = "") -> None:
        self.console.print(text if isinstance(text, Text) else Text(text, style=style))

    def conv(self) -> ConversationId | None:
        if self.target.group is not None:
            return self.target.group
        if self.peer is None:
            self.say("pick someone first: /to photo:alice, or a group: /to #NAME", style="yellow")
            return None
        return direct_conversation_id(self.client.account_id, self.peer)

    # --- sending -------------------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        if not self.target.empty and not self.client.connected:
            self.say(
                f"✗ not sent: no connection to {self.client.server_url} right now (it reconnects by "
                "itself and says so; send it again then)",
                style="red",
            )
            return
        if self.target.group is not None:
            sent = await self.client.groups.send_text(self.target.group, text)
            where = await self.printer.groups.tag(self.target.group)
        elif self.peer is not None:
            sent = await self.client.send_text(self.peer, text)
            where = await self.printer.name(self.peer)
        else:
            self.say(NOBODY, style="yellow")
            return
        self.printer.remember(sent.id, text)
        number = self.printer.shown.number(sent_message(self.client, sent, text))
        line = Text.assemble(f"({number}) {clock(sent.ts)} you → ", where, ": ", text, " ✓")
        if sent.expires_at is not None:
            line.append(f"  ⏳ disappears {when(sent.expires_at)}", style="dim")
        self.say(line)

    # --- commands -----------------------------------------------------------------------------------

    async def to(self, arg: str) -> None:
        """Pick a person or a group. Whatever goes wrong, nobody stays selected afterwards: the next
        line is never sent to the person picked before."""
        if not arg:
            self.say("usage: /to photo:alice (a person) or /to #NAME (a group)", style="yellow")
            return
        self.target.clear()
        try:
            picked = await self._pick(arg)
        except SdkError as exc:
            self.say(f"✗ {self.explain(exc)}", style="red")
            picked = False
        if not picked:
            self.say("nobody is selected now: lines you type are not sent until /to succeeds", style="dim")

    async def _pick(self, arg: str) -> bool:
        if arg.startswith("#"):
            return await self.groups.pick(arg)
        if arg.isdigit():
            index = int(arg) - 1
            if not 0 <= index < len(self.listed):
                self.say("no such conversation: /list shows their numbers", style="yellow")
                return False
            account = self.listed[index]
        elif ":" not in arg:
            self.say(f"an address is app:name, like photo:{arg} or chat:+33612345678", style="yellow")
            return False
        else:
            try:
                contact: Contact = await self.client.lookup(arg)
            except NotFound:
                self.say(not_found(arg), style="yellow")
                return False
            if contact.account_id == self.client.account_id:
                self.say("that is you; your other devices get copies of what you send", style="yellow")
                return False
            account = contact.account_id
        if account in {b.account_id for b in await self.client.privacy.blocks()}:
            name = await self.printer.name(account)
            unblock = "/unblock" if arg.isdigit() else f"/unblock {arg}"
            self.say(
                Text.assemble("you blocked ", name, f": {unblock} to write to them again", style="yellow")
            )
            return False
        self.target.person(account)
        self.say(Text.assemble("Now talking to ", await self.printer.name(account)))
        return True

    async def reply(self, arg: str) -> None:
        if arg:  # /reply N text: a reply quoting message N (rich content)
            await self.content.reply(arg)
            return
        if self.last_sender is None:
            self.say("nobody has written to you yet", style="yellow")
            return
        self.target.person(self.last_sender)
        self.say(Text.assemble("Now talking to ", await self.printer.name(self.last_sender)))

    async def list(self, _: str) -> None:
        conversations = await self.client.conversations(refresh=True)
        self.listed = []
        if not conversations:
            self.say("no conversations yet: /to photo:alice")
            return
        for conversation in sorted(conversations, key=lambda c: c.last_ts or 0, reverse=True):
            others = [m for m in conversation.members if m != self.client.account_id]
            if conversation.kind == "group" or len(others) != 1:
                continue
            self.listed.append(others[0])
            marker = "*" if others[0] == self.peer else " "
            line = Text.assemble(f"{marker}{len(self.listed)}. ", await self.printer.name(others[0]))
            if conversation.timer:
                line.append(f"  ⏱ {timer_words(conversation.timer)}", style="dim")
            if conversation.last_ts:
                line.append(f"  last {when(conversation.last_ts)}", style="dim")
            self.say(line)

    async def history(self, arg: str) -> None:
        conv = self.conv()
        if conv is None:
            return
        limit = int(arg) if arg.isdigit() and int(arg) > 0 else 20
        messages = await self.client.history(conv, limit=limit)
        if not messages:
            self.say("no messages yet")
        for message in messages:
            await self.printer.history(message)

    async def timer(self, arg: str) -> None:
        conv = self.conv()
        if conv is None:
            return
        seconds = TIMER_CHOICES.get(arg.lower())
        if seconds is None:
            self.say(f"usage: /timer {'|'.join(TIMER_CHOICES)}", style="yellow")
            return
        try:
            await self.client.set_timer(conv, seconds)
        except NotFound:
            self.say("send a first message, then set the timer", style="yellow")
            return
        if seconds:
            self.say(f"⏱ you set disappearing messages to {timer_words(seconds)}")
        else:
            self.say("⏱ you turned disappearing messages off")

    async def safety(self, _: str) -> None:
        if self.conv() is None or self.peer is None:
            if self.target.group is not None:
                self.say("a safety number is between two people: /to one of them first", style="yellow")
            return
        number = await self.client.safety_number(self.peer)
        self.say(Text.assemble("Safety number with ", await self.printer.name(self.peer), ":"))
        for row in safety_rows(number):
            self.say(f"    {row}")
        self.say(
            "Compare it with theirs (in person or on a call): the same digits mean no one is in between."
        )

    async def devices(self, _: str) -> None:
        for device in await self.client.devices():
            current = "  (this one)" if device.current else ""
            self.say(f"• {device.name}  {device.device_id}  key {device.ed25519[:12]}…{current}")

    async def read(self, _: str) -> None:
        conv = self.conv()
        if conv is None:
            return
        unread = [
            m.id
            for m in await self.client.history(conv, limit=500)
            if not m.outgoing and m.id is not None and m.state is not MessageState.READ
        ]
        if not unread:
            self.say("nothing new to mark read")
            return
        await self.client.mark_read(conv, unread)
        self.say(f"marked {len(unread)} message{'s' if len(unread) > 1 else ''} read")

    async def help(self, _: str) -> None:
        self.say(HELP)

    async def quit(self, _: str) -> None:
        raise Quit
