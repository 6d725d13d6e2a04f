"""Message requests and blocks in ``passerelle chat``: ``/requests``, ``/accept``, ``/decline``,
``/block``, ``/unblock``, ``/blocked``.

The first message from someone who is not a contact (always, from another app) waits in the
requests folder; until it is accepted they do not see read receipts or typing. Each command takes
a number from ``/requests``, an address, or nothing (the latest request announced this session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich.text import Text

from passerelle.cli.chat.slash import CommandGroup
from passerelle.cli.chat.view import when
from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId
from passerelle.sdk import NotFound, RequestEvent


@dataclass(eq=False)
class RequestCommands(CommandGroup):
    latest: AccountId | None = None
    """Who sent the latest request this session announced."""
    listed: list[AccountId] = field(default_factory=list)
    blocks: list[AccountId] = field(default_factory=list)
    """The people ``/blocked`` listed, for ``/unblock N``."""

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "/requests": self.requests,
            "/accept": self.accept,
            "/decline": self.decline,
            "/block": self.block,
            "/unblock": self.unblock,
            "/blocked": self.blocked,
        }

    def heard(self, event: RequestEvent) -> None:
        self.latest = event.sender

    async def requests(self, _: str) -> None:
        waiting = await self.client.privacy.requests()
        self.listed = [r.sender for r in waiting]
        if not waiting:
            self.say("no message requests")
            return
        for number, request in enumerate(waiting, 1):
            name = await self.printer.name(request.sender)
            self.say(Text.assemble(f" {number}. ", name, Text(f"  since {when(request.since)}", style="dim")))
        self.say(Text("/accept N, /decline N or /block N", style="dim"))

    async def accept(self, arg: str) -> None:
        who = await self._who(arg)
        if who is None:
            return
        await self.client.privacy.accept(who)
        self.printer.accepted(direct_conversation_id(self.client.account_id, who))
        self.latest = None if who == self.latest else self.latest
        self.target.person(who)
        self.say(
            Text.assemble(
                "✓ you accepted ", await self.printer.name(who), "'s request: now a contact (talking to them)"
            )
        )

    async def decline(self, arg: str) -> None:
        who = await self._who(arg)
        if who is None:
            return
        await self.client.privacy.decline(who)
        self._forget(who)
        self.say(Text.assemble("✓ you declined ", await self.printer.name(who), "'s request"))

    async def block(self, arg: str) -> None:
        """Decline and block a request, or block anyone (``/block photo:alice``): both ways, at once."""
        who = await self._who(arg, fallback_to_peer=True)
        if who is None:
            return
        pending = {r.sender for r in await self.client.privacy.requests()}
        if who in pending:
            await self.client.privacy.decline_and_block(who)
        else:
            await self.client.privacy.block(who)
        name = await self.printer.name(who)
        self._forget(who)
        self.say(Text.assemble("⛔ you blocked ", name, ": neither of you can reach the other"))

    async def blocked(self, _: str) -> None:
        """The people I blocked, numbered for ``/unblock N``."""
        blocks = await self.client.privacy.blocks()
        self.blocks = [b.account_id for b in blocks]
        if not blocks:
            self.say("you have blocked nobody")
            return
        for number, block in enumerate(blocks, 1):
            name = await self.printer.name(block.account_id)
            self.say(Text.assemble(f" {number}. ", name, Text(f"  blocked {when(block.since)}", style="dim")))
        self.say(Text("/unblock N", style="dim"))

    async def unblock(self, arg: str) -> None:
        """``/unblock photo:alice``, ``/unblock N`` (from ``/blocked``), or ``/unblock`` when there is one."""
        who: AccountId | None = None
        if arg.isdigit():
            if not 0 < int(arg) <= len(self.blocks):
                self.say(Text("no such number: /blocked lists whom you blocked", style="yellow"))
                return
            who = self.blocks[int(arg) - 1]
        elif arg:
            try:
                who = (await self.client.lookup(arg)).account_id
            except NotFound:
                self.say(Text(f"nobody can be found at {arg}", style="yellow"))
                return
        else:
            blocks = await self.client.privacy.blocks()
            if len(blocks) != 1:
                self.say(
                    Text(
                        "you have blocked nobody"
                        if not blocks
                        else "which one? /blocked lists them: /unblock N",
                        style="yellow",
                    )
                )
                return
            who = blocks[0].account_id
        try:
            await self.client.privacy.unblock(who)
        except NotFound:
            self.say(Text.assemble(await self.printer.name(who), " is not blocked"))
            return
        self.say(
            Text.assemble(
                "✓ you unblocked ", await self.printer.name(who), ": you can write to each other again"
            )
        )

    def _forget(self, who: AccountId) -> None:
        if self.latest == who:
            self.latest = None
        if self.target.peer == who:
            self.target.clear()

    async def _who(self, arg: str, *, fallback_to_peer: bool = False) -> AccountId | None:
        if arg.isdigit():
            index = int(arg) - 1
            if not 0 <= index < len(self.listed):
                self.say(Text("no such request: /requests shows their numbers", style="yellow"))
                return None
            return self.listed[index]
        if arg:
            try:
                return (await self.client.lookup(arg)).account_id
            except NotFound:
                self.say(Text(f"nobody can be found at {arg}", style="yellow"))
                return None
        if self.latest is not None:
            return self.latest
        waiting = await self.client.privacy.requests()
        if len(waiting) == 1:
            return waiting[0].sender
        if fallback_to_peer and self.target.peer is not None:
            return self.target.peer
        self.say(Text("which one? /requests lists them: /accept N", style="yellow"))
        return None
