"""What the demo's scenes share: the console they print on, how people are shown, and the record of
every plaintext sent, which the proof searches the server's files and logs for at the end.

``script`` (the 1:1 scenes) and ``scenes`` (the rest) both play on a ``Stage``; neither imports the
other's module for it.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.view import AppStyles
from passerelle.cli.demo.people import DemoFailed, Device, Person
from passerelle.sdk import Message, SentMessage


class Stage:
    def __init__(self, *, console: Console, styles: AppStyles) -> None:
        self.console = console
        self.styles = styles
        self.sent: list[str] = []
        """Every message text sent, for the final search of the server's files and logs."""
        self.secrets: list[tuple[str, str]] = []
        """Other content searched for: (what it is, its text), like ("caption", "Vue depuis …")."""

    def plaintexts(self) -> list[tuple[str, str]]:
        """(what, text) for everything searched for at the end: messages first, then the rest."""
        return [("message", text) for text in self.sent] + self.secrets

    def secret(self, what: str, text: str) -> None:
        self.secrets.append((what, text))

    # --- printing ------------------------------------------------------------------------------------

    def section(self, title: str) -> None:
        self.console.print()
        self.console.rule(Text(title, style="bold"))

    def note(self, *parts: str | Text) -> None:
        self.console.print(Text.assemble("   ", *parts, style="dim"))

    def who(self, person: Person, device: str = "") -> Text:
        tag = self.styles.person(person.app, person.name)
        return tag.append(f" ({device})") if device else tag

    # --- saying ------------------------------------------------------------------------------------------

    async def say(
        self, sender: Person, to: Person, text: str, *, device: Device | None = None, label: str = ""
    ) -> tuple[SentMessage, Message]:
        """``sender`` writes to ``to``; returns once ``to``'s current device decrypted it."""
        client = (device or sender.device).client
        sent = await client.send_text(sender.account_of(to), text)
        self.sent.append(text)
        got = await to.screen.wait_for(
            Message,
            lambda m: m.text == text and not m.outgoing,
            what=f"{to.name} receiving {sender.name}'s message",
        )
        if got.sender != client.account_id or got.id != sent.id:
            raise DemoFailed(f"{to.name} got the message with the wrong sender or id")
        self.console.print(Text.assemble(self.who(sender, label), " → ", self.who(to), ": ", text))
        return sent, got
