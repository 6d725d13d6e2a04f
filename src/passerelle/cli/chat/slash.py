"""What every group of slash commands in ``passerelle chat`` shares: where typed lines go
(``Target``), and the four things each group works with (``CommandGroup``): the SDK client, the
printer of events, the target and the session's ``say``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text

from passerelle.cli.chat.events import EventPrinter
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import Client


class Target:
    """Where typed lines go: a person (``peer``) or a group (``group``), never both; or nowhere.

    ``chosen`` says that the person picked (or tried to pick) a target this session: from then on an
    incoming message never picks one for them, so a failed ``/to`` cannot send the next line to
    whoever wrote last."""

    def __init__(self) -> None:
        self.peer: AccountId | None = None
        self.group: ConversationId | None = None
        self.chosen = False

    def person(self, account: AccountId) -> None:
        self.peer, self.group, self.chosen = account, None, True

    def in_group(self, conv: ConversationId) -> None:
        self.peer, self.group, self.chosen = None, conv, True

    def clear(self) -> None:
        """Nobody: lines typed now are not sent anywhere (and say so)."""
        self.peer, self.group, self.chosen = None, None, True

    @property
    def empty(self) -> bool:
        return self.peer is None and self.group is None


@dataclass(eq=False)
class CommandGroup:
    """A group of slash commands; ``commands`` maps each command to its handler (the rest of the
    line is its argument)."""

    client: Client
    printer: EventPrinter
    target: Target
    say: Callable[[str | Text], None]

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        raise NotImplementedError
