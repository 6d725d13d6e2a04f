"""The group commands of ``passerelle chat``: ``/group new|add|remove|leave|rename``, ``/groups``.

/group new "Vélo du dimanche" chat:+33612345678 social:carol.b   (quotes optional: the name
                                                                  is the words before the
                                                                  first address)
/groups                  the groups you are in, numbered: /to #2 or /to #Vélo talks in one
/group add photo:dave    (in the current group; admins only)
/group remove photo:dave
/group leave
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich.text import Text

from passerelle.cli.chat.notices import joined
from passerelle.cli.chat.slash import CommandGroup
from passerelle.cli.chat.view import group_tag
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import NotFound

GROUP_USAGE = """\
/group new NAME ADDRESS…  a group with these people (and you, its admin)
/group add ADDRESS…       add people to the current group (admins)
/group remove ADDRESS     remove someone from the current group (admins)
/group rename NAME        rename the current group
/group leave              leave the current group"""


@dataclass(eq=False)
class GroupCommands(CommandGroup):
    listed: list[ConversationId] = field(default_factory=list)

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {"/group": self.group, "/groups": self.groups}

    async def group(self, arg: str) -> None:
        word, _, rest = arg.strip().partition(" ")
        action = {
            "new": self.new,
            "add": self.add,
            "remove": self.remove,
            "rename": self.rename,
            "leave": self.leave,
        }.get(word.lower())
        if action is None:
            self.say(Text(GROUP_USAGE, style="yellow"))
            return
        await action(rest.strip())

    async def new(self, arg: str) -> None:
        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        at = next((i for i, w in enumerate(words) if ":" in w and i > 0), len(words))
        name, addresses = " ".join(words[:at]), words[at:]
        if not name or not addresses:
            self.say(
                Text("usage: /group new NAME ADDRESS… (like /group new Vélo photo:alice)", style="yellow")
            )
            return
        members = await self._accounts(addresses)
        if members is None:
            return
        group = await self.client.groups.create(name, members)
        self.target.in_group(group.conv)
        others = [m for m in dict.fromkeys(members) if m != self.client.account_id]  # in the order typed
        names = [await self.printer.name(m) for m in others]
        self.say(
            Text.assemble(
                "👥 you created ", group_tag(name), " with ", *joined(names), " — now talking there"
            )
        )

    async def add(self, arg: str) -> None:
        conv = self._current()
        if conv is None or (accounts := await self._accounts(arg.split())) is None:
            return
        if not accounts:
            self.say(Text("usage: /group add ADDRESS…", style="yellow"))
            return
        await self.client.groups.add(conv, accounts)
        name = await self.printer.groups.name(conv)
        if name is not None:  # the name is content: sent again, so the new members learn it now
            await self.client.groups.rename(conv, name)
        names = [await self.printer.name(a) for a in accounts]
        self.say(Text.assemble("👥 you added ", *joined(names), " to ", await self.printer.groups.tag(conv)))

    async def remove(self, arg: str) -> None:
        conv = self._current()
        if conv is None or (accounts := await self._accounts(arg.split())) is None:
            return
        if len(accounts) != 1:
            self.say(Text("usage: /group remove ADDRESS", style="yellow"))
            return
        await self.client.groups.remove(conv, accounts[0])
        tag = await self.printer.groups.tag(conv)
        self.say(
            Text.assemble(
                "👥 you removed ",
                await self.printer.name(accounts[0]),
                " from ",
                tag,
                ": ",
                Text("they cannot read anything sent from now on", style="dim"),
            )
        )

    async def rename(self, arg: str) -> None:
        conv = self._current()
        if conv is None:
            return
        if not arg:
            self.say(Text("usage: /group rename NAME", style="yellow"))
            return
        await self.client.groups.rename(conv, arg)
        self.printer.groups.forget(conv)
        self.say(Text.assemble("👥 you renamed the group ", group_tag(arg)))

    async def leave(self, _: str) -> None:
        conv = self._current()
        if conv is None:
            return
        tag = await self.printer.groups.tag(conv)
        await self.client.groups.leave(conv)
        self.target.group = None
        self.say(Text.assemble("👥 you left ", tag))

    async def groups(self, _: str) -> None:
        found = await self.printer.groups.groups()
        self.listed = [conv for conv, _, _ in found]
        if not found:
            self.say("no groups yet: /group new NAME ADDRESS…")
            return
        for number, (conv, name, members) in enumerate(found, 1):
            marker = "*" if conv == self.target.group else " "
            count = f"  {len(members)} member{'s' if len(members) != 1 else ''}"
            self.say(Text.assemble(f"{marker}#{number} ", group_tag(name), Text(count, style="dim")))

    async def pick(self, arg: str) -> bool:
        """``/to #2`` or ``/to #Vélo``: talk in that group. False when there is no such group."""
        wanted = arg.lstrip("#").strip()
        found = await self.printer.groups.groups()
        if wanted.isdigit() and self.listed and 0 < int(wanted) <= len(self.listed):
            conv: ConversationId | None = self.listed[int(wanted) - 1]
        else:
            exact = [c for c, name, _ in found if name.casefold() == wanted.casefold()]
            starts = [c for c, name, _ in found if name.casefold().startswith(wanted.casefold())]
            conv = next(iter(exact or starts), None)
        if conv is None or conv not in {c for c, _, _ in found}:
            self.say(Text(f"you are in no group called {wanted!r}: /groups lists them", style="yellow"))
            return False
        self.target.in_group(conv)
        self.say(Text.assemble("Now talking in ", await self.printer.groups.tag(conv)))
        return True

    def _current(self) -> ConversationId | None:
        if self.target.group is None:
            self.say(Text("pick a group first: /to #NAME (/groups lists them)", style="yellow"))
        return self.target.group

    async def _accounts(self, addresses: list[str]) -> list[AccountId] | None:
        accounts = []
        for address in addresses:
            try:
                accounts.append((await self.client.lookup(address)).account_id)
            except NotFound:
                self.say(Text(not_found(address), style="yellow"))
                return None
        return accounts


def not_found(address: str) -> str:
    """Why a lookup found nobody, and what the other person can do about it."""
    return (
        f"nobody can be found at {address}: no such account, or they chose not to be found from "
        "your app (they can change that with /settings findable everyone)"
    )
