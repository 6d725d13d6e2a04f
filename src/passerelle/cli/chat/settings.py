"""Privacy settings in ``passerelle chat``: ``/settings`` shows them, ``/settings NAME VALUE``
changes one (on the server, for every device of the account, at once).

    /settings findable everyone|app|nobody        who can find me by my address
    /settings messages everyone|contacts          who can start a conversation with me
    /settings receipts on|off                     whether people see that I read their messages
    /settings last-seen everyone|contacts|nobody  who sees when I was last connected
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text

from passerelle.sdk import Client
from passerelle.sdk.privacy import PrivacySettings


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    """What the person types: ``findable``."""
    field: str
    """The SDK's keyword: ``findability``."""
    values: tuple[str, ...]
    meaning: str


CHOICES = (
    Choice("findable", "findability", ("everyone", "app", "nobody"), "who can find you by your address"),
    Choice("messages", "message_from", ("everyone", "contacts"), "who can start a conversation with you"),
    Choice("receipts", "read_receipts", ("on", "off"), "whether people see that you read their messages"),
    Choice("last-seen", "last_seen", ("everyone", "contacts", "nobody"), "who sees when you were last here"),
)
USAGE = "usage: /settings, or /settings NAME VALUE: " + "; ".join(
    f"{c.name} {'|'.join(c.values)}" for c in CHOICES
)


def _shown(settings: PrivacySettings, choice: Choice) -> str:
    value = getattr(settings, choice.field)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class SettingsCommands:
    def __init__(self, client: Client, say: Callable[[str | Text], None]) -> None:
        self.client = client
        self.say = say

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {"/settings": self.settings}

    async def settings(self, arg: str) -> None:
        words = arg.lower().split()
        if not words:
            self._show(await self.client.privacy.settings())
            return
        choice = next((c for c in CHOICES if c.name == words[0] or c.field == words[0]), None)
        if choice is None or len(words) != 2 or words[1] not in choice.values:
            if choice is not None:
                self.say(Text(f"usage: /settings {choice.name} {'|'.join(choice.values)}", style="yellow"))
            else:
                self.say(Text(USAGE, style="yellow"))
            return
        changed = await self._change(choice, words[1])
        self.say(
            Text.assemble(
                "✓ ", choice.name, ": ", Text(words[1], style="bold"), " — ", self._means(choice, words[1])
            )
        )
        self._show(changed)

    async def _change(self, choice: Choice, value: str) -> PrivacySettings:
        privacy = self.client.privacy
        match choice.field:
            case "findability":
                return await privacy.settings(findability=value)
            case "message_from":
                return await privacy.settings(message_from=value)
            case "read_receipts":
                return await privacy.settings(read_receipts=value == "on")
            case _:
                return await privacy.settings(last_seen=value)

    def _means(self, choice: Choice, value: str) -> str:
        address = self.client.address or "your address"
        app = self.client.app
        return {
            ("findable", "everyone"): f"anyone, on any app, can find you at {address}",
            ("findable", "app"): f"only people of the {app} app can find you at {address}",
            ("findable", "nobody"): f"nobody can find you at {address} (people you talk with still see you)",
            ("messages", "everyone"): "anyone who can find you can write to you (strangers as requests)",
            ("messages", "contacts"): "only your contacts can start a conversation with you",
            ("receipts", "on"): "people see ✓✓ read when you read their messages",
            ("receipts", "off"): "nobody sees when you read their messages",
            ("last-seen", "everyone"): "anyone who can see you sees when you were last here",
            ("last-seen", "contacts"): "your contacts see when you were last here",
            ("last-seen", "nobody"): "nobody sees when you were last here",
        }.get((choice.name, value), "")

    def _show(self, settings: PrivacySettings) -> None:
        self.say("Your privacy settings (for every device of your account):")
        for choice in CHOICES:
            value = _shown(settings, choice)
            line = Text(f"  {choice.name:<10} ")
            line.append(f"{value:<9}", style="bold")
            line.append(f" {choice.meaning} ({', '.join(choice.values)})", style="dim")
            self.say(line)
        self.say(Text("Change one: /settings findable everyone", style="dim"))
