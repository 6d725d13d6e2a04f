"""EventPrinter: one line per thing that happens to a terminal client, as a person reads it.

``14:03 [photo] Alice: Bonjour``, ``✓ delivered "Bonjour"``, ``✓✓ read by Alice "Bonjour"``,
``… Alice is typing``, ``⏱ Alice set disappearing messages to 24 hours``. A person the client never
looked up is shown by the name and app of their profile (``Client.profile``, which the SDK also
fetches by itself when their first message arrives); only when the server will not say (they are
hidden from us) by the start of their account id.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.notices import DeviceNotices, GroupNotices
from passerelle.cli.chat.shown import GroupNames, ShownMessages, is_group
from passerelle.cli.chat.view import AppStyles, clock, human_size, timer_words, when
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import (
    Client,
    ConnectionEvent,
    Contact,
    DeviceEvent,
    Event,
    Message,
    MessageState,
    ReceiptEvent,
    RequestEvent,
    SdkError,
    TimerEvent,
    TypingEvent,
)
from passerelle.sdk.events import GroupEvent

SNIPPET_CHARS = 40
STATE_MARKS = {
    MessageState.PENDING: "…",
    MessageState.SENT: "✓",
    MessageState.DELIVERED: "✓ delivered",
    MessageState.READ: "✓✓ read",
    MessageState.RECEIVED: "",
}


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


class EventPrinter:
    def __init__(self, client: Client, console: Console, styles: AppStyles) -> None:
        self.client = client
        self.console = console
        self.styles = styles
        self._texts: dict[int, str] = {}
        """Server message id -> text, for the receipts of messages this session saw."""
        self._shown: set[tuple[int, str]] = set()
        """(message id, receipt kind) already shown: each of the peer's devices sends its own."""
        self._nameless: set[str] = set()
        """Accounts whose profile the server refused this session: not asked again for every line."""
        self.shown = ShownMessages()
        """The numbers of the messages printed, for /save, /react, /reply …"""
        self.groups = GroupNames(client)
        self.notices = GroupNotices(client, console, self.groups, self.name)
        self.devices = DeviceNotices(client, console)
        self._lost = False
        """The connection was lost and has not come back yet."""
        self._requests: set[ConversationId] = set()
        """Conversations whose request this session announced (once each)."""

    def remember(self, mid: int | None, text: str) -> None:
        if mid is not None:
            self._texts[mid] = text

    async def name(self, account: str) -> Text:
        """``[photo] Alice`` (known here, else from their profile); ``you``; else ``someone you cannot see``."""
        if account == self.client.account_id:
            return Text("you", style="bold")
        contact = await self.client.contact(account) or await self._profile(account)
        if contact is None:
            return Text("someone you cannot see", style="bold")
        return self.styles.person(contact.app, contact.display_name)

    async def _profile(self, account: str) -> Contact | None:
        if account in self._nameless:
            return None
        try:
            return await self.client.profile(account)
        except SdkError:
            self._nameless.add(account)
            return None

    async def other_member(self, conv: ConversationId) -> AccountId | None:
        for known in await self.client.conversations():
            if known.conv == conv:
                others = [m for m in known.members if m != self.client.account_id]
                return others[0] if others else None
        return None

    async def show(self, event: Event) -> None:
        match event:
            case Message():
                await self.message(event)
            case ReceiptEvent():
                await self.receipt(event)
            case TypingEvent():
                if event.typing:
                    self.console.print(Text.assemble("… ", await self.name(event.sender), " is typing"))
            case TimerEvent():
                await self.timer(event)
            case DeviceEvent():
                await self.devices.show(event)
            case GroupEvent():
                await self.notices.show(event)
            case RequestEvent():
                await self.request(event)
            case ConnectionEvent():
                self.connection(event)

    def connection(self, event: ConnectionEvent) -> None:
        """Said when the connection is lost and when it is back (the first one goes without saying)."""
        url = self.client.server_url
        if not event.connected:
            self._lost = True
            self.console.print(
                Text(
                    f"⚠ lost the connection to {url}; reconnecting by itself (Ctrl-C to stop)", style="yellow"
                )
            )
        elif self._lost:
            self._lost = False
            self.console.print(Text(f"✓ connected again to {url}", style="green"))

    async def message(self, message: Message) -> None:
        before = self.shown.previous(message)
        number = self.shown.number(message)
        if before is not None:
            await self.changed(before, message, number)
            return
        await self.show_message(message, number, live=True)

    async def history(self, message: Message) -> None:
        """A message of ``/history``: as it was shown live, with its receipt state, replies and
        reactions (it keeps its number if it was shown before)."""
        await self.show_message(message, self.shown.number(message), live=False)

    async def show_message(self, message: Message, number: int, *, live: bool) -> None:
        """``(3) 14:03 [photo] alice: text``, then what goes with it on lines of its own: the message
        it replies to, its reactions, its attachment."""
        self.remember(message.id, message.text)
        if is_group(message.conv):
            await self.notices.before_message(message.conv)
        line = Text(f"({number}) {clock(message.ts)} ")
        if is_group(message.conv):
            line.append_text(await self.groups.tag(message.conv))
            line.append(" › ")
        if message.outgoing and live:  # a copy of what I sent from another of my devices
            line.append_text(Text("you", style="bold"))
            line.append(" (from another device)")
            if not is_group(message.conv):
                peer = await self.other_member(message.conv)
                line.append_text(Text.assemble(" → ", await self.name(peer) if peer else Text("?")))
        else:
            line.append_text(await self.name(message.sender))
        line.append(": ")
        line.append(message.text, style="dim italic" if message.deleted else "")
        if message.edited and not message.deleted:
            line.append("  (edited)", style="dim")
        if not live and message.outgoing and STATE_MARKS[message.state]:
            line.append(f"  {STATE_MARKS[message.state]}", style="dim")
        if live and message.expires_at is not None:
            line.append(f"  ⏳ disappears {when(message.expires_at)}", style="dim")
        self.console.print(line)
        if message.reply_to is not None:
            self.console.print(await self.quoted(message))
        if message.reactions:
            self.console.print(await self.reactions(message))
        self.attachment(message, number)

    async def quoted(self, message: Message) -> Text:
        """``    ↩ replying to (3) [photo] alice: “Au salon 📸”``."""
        ref = message.reply_to
        assert ref is not None
        number = self.shown.number_of(ref.sender, ref.id)
        line = Text("    ↩ replying to ", style="dim")
        if number is not None:
            line.append(f"({number}) ", style="dim")
        line.append_text(await self.name(ref.sender))
        if ref.quote:
            line.append(f": “{snippet(ref.quote)}”", style="dim")
        return line

    async def reactions(self, message: Message) -> Text:
        """``    👍 [chat] Bob · ❤️ you``."""
        line = Text("    ")
        for index, (account, emoji) in enumerate(message.reactions):
            if index:
                line.append(" · ", style="dim")
            line.append(f"{emoji} ")
            line.append_text(await self.name(account))
        return line

    async def changed(self, before: Message, after: Message, number: int) -> None:
        """A message shown before changed: reacted to, edited or deleted (by its sender)."""
        who = await self.name(after.sender)
        if after.deleted and not before.deleted:
            self.console.print(Text.assemble(f"({number}) 🗑 ", who, " deleted this message for everyone"))
        elif after.edited and after.text != before.text:
            line = Text.assemble(f"({number}) ✎ ", who, ": ", after.text)
            line.append("  (edited)", style="dim")
            self.console.print(line)
        added = set(after.reactions) - set(before.reactions)
        for account, emoji in sorted(added):
            quoted = Text(f' "{snippet(after.text)}"', style="dim")
            self.console.print(
                Text.assemble(f"({number}) ", await self.name(account), f" reacted {emoji} to", quoted)
            )
        removed = {a for a, _ in before.reactions} - {a for a, _ in after.reactions}
        for account in sorted(removed):
            self.console.print(Text.assemble(f"({number}) ", await self.name(account), " removed a reaction"))

    def attachment(self, message: Message, number: int) -> None:
        """``📎 image "beach.jpg", 12.4 kB (image/jpeg) — /save 3 <path>``: what came, not yet fetched."""
        att = message.attachment
        if att is None:
            return
        details = f"{att.kind} {att.name!r}" if att.name else att.kind
        size = f", {human_size(att.size)} ({att.mime})"
        extra = f", {att.duration_ms / 1000:.0f} s" if att.duration_ms else ""
        self.console.print(
            Text.assemble("    📎 ", details, size, extra, Text(f" — /save {number} <path>", style="dim"))
        )

    async def request(self, event: RequestEvent) -> None:
        """A message from someone not in my contacts: said once per conversation and session."""
        if event.conv in self._requests:
            return
        self._requests.add(event.conv)
        self.console.print(
            Text.assemble(
                "✉ a message request from ",
                await self.name(event.sender),
                " (not in your contacts): ",
                Text("/accept, /decline or /block", style="bold"),
            )
        )

    def accepted(self, conv: ConversationId) -> None:
        self._requests.discard(conv)

    async def receipt(self, receipt: ReceiptEvent) -> None:
        if receipt.sender == self.client.account_id:
            self.console.print(Text("✓✓ read on your other device", style="dim"))
            return
        for mid in receipt.ids:
            if (mid, receipt.kind) in self._shown:
                continue
            self._shown.add((mid, receipt.kind))
            text = self._texts.get(mid) or await self._text_of(receipt.conv, mid)
            if text is None:
                continue  # not a message shown here (a reaction, an edit): nothing to point at
            quoted = f' "{snippet(text)}"'
            if receipt.kind == "read":
                line = Text.assemble(
                    Text("✓✓ read", style="bold blue"), " by ", await self.name(receipt.sender), quoted
                )
            else:
                line = Text.assemble(Text("✓ delivered", style="green"), quoted)
            self.console.print(line)

    async def _text_of(self, conv: ConversationId, mid: int) -> str | None:
        for message in await self.client.history(conv, limit=200):
            if message.id == mid:
                self._texts[mid] = message.text
                return message.text
        return None

    async def timer(self, event: TimerEvent) -> None:
        who = await self.name(event.sender)
        if event.seconds:
            self.console.print(
                Text.assemble("⏱ ", who, f" set disappearing messages to {timer_words(event.seconds)}")
            )
        else:
            self.console.print(Text.assemble("⏱ ", who, " turned disappearing messages off"))
