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

from passerelle.cli_chat_view import AppStyles, clock, timer_words, when
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import (
    Client,
    Contact,
    DeviceEvent,
    Event,
    Message,
    MessageState,
    ReceiptEvent,
    SdkError,
    TimerEvent,
    TypingEvent,
)

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

    def remember(self, mid: int | None, text: str) -> None:
        if mid is not None:
            self._texts[mid] = text

    async def name(self, account: str) -> Text:
        """``[photo] Alice`` (known here, else from their profile); ``you``; else ``someone (3f9a2c1b…)``."""
        if account == self.client.account_id:
            return Text("you", style="bold")
        contact = await self.client.contact(account) or await self._profile(account)
        if contact is None:
            return Text(f"someone ({account[:8]}…)", style="bold")
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
                self.console.print(f"🔐 a device was {event.event} on your account ({event.device_id})")

    async def message(self, message: Message) -> None:
        self.remember(message.id, message.text)
        if message.outgoing:  # a copy of what I sent from another of my devices
            peer = await self.other_member(message.conv)
            line = Text.assemble(
                f"{clock(message.ts)} ",
                Text("you", style="bold"),
                " (from another device) → ",
                await self.name(peer) if peer else Text("?"),
                ": ",
                message.text,
            )
        else:
            line = Text.assemble(f"{clock(message.ts)} ", await self.name(message.sender), ": ", message.text)
        if message.expires_at is not None:
            line.append(f"  ⏳ disappears {when(message.expires_at)}", style="dim")
        self.console.print(line)

    async def receipt(self, receipt: ReceiptEvent) -> None:
        if receipt.sender == self.client.account_id:
            self.console.print(Text("✓✓ read on your other device", style="dim"))
            return
        for mid in receipt.ids:
            if (mid, receipt.kind) in self._shown:
                continue
            self._shown.add((mid, receipt.kind))
            text = self._texts.get(mid) or await self._text_of(receipt.conv, mid)
            quoted = f' "{snippet(text)}"' if text else ""
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
