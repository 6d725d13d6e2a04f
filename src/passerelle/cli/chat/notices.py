"""Notices in ``passerelle chat``: changes to a group and to my account's devices, said with names.

``👥 [photo] alice added you to #Vélo du dimanche with [chat] Bob and [social] Carol B.`` — a group's
name is content (it arrives encrypted, just after the server's notice that I was added), so being
added is said when the name arrives, or with the group's first message if that comes first. The
members' names are learnt as soon as I am in a group, while I may still see their profiles: once
someone has been removed, the server no longer shows them to me.

``🔐 a new device, “laptop”, was added to your account``: devices are named by the names they gave
themselves, never by their ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.shown import GroupNames
from passerelle.domain.ids import AccountId, ConversationId, DeviceId
from passerelle.sdk import Client, DeviceEvent, SdkError
from passerelle.sdk.events import GroupEvent

NAMED_MEMBERS = 8
"""A notice names this many other members at most (then: "and 12 others")."""
LEARNT_MEMBERS = 100
"""The names of a new group's members are learnt up to this size (one profile each)."""

Namer = Callable[[str], Awaitable[Text]]


def joined(parts: list[Text], more: int = 0) -> list[Text | str]:
    """``A``, ``A and B``, ``A, B and C``, ``A, B and 3 others``."""
    items: list[Text | str] = [*parts]
    if more:
        items.append(f"{more} other{'s' if more != 1 else ''}")
    out: list[Text | str] = []
    for index, part in enumerate(items):
        if index:
            out.append(" and " if index == len(items) - 1 else ", ")
        out.append(part)
    return out


class GroupNotices:
    def __init__(self, client: Client, console: Console, groups: GroupNames, name: Namer) -> None:
        self.client = client
        self.console = console
        self.groups = groups
        self.name = name
        self._known: set[ConversationId] | None = None
        """The groups I am known to be in (None: not learnt, as in --receive)."""
        self._joining: dict[ConversationId, AccountId] = {}
        """Groups I was added to whose name has not arrived yet, and who added me."""

    async def learn(self) -> None:
        """The groups this device is in now: call it before connecting, so that a group whose notice
        waits in the mailbox is told as new."""
        self._known = {conv for conv, _, _ in await self.groups.groups()}

    async def members(self, conv: ConversationId) -> tuple[AccountId, ...]:
        for conversation in await self.client.conversations():
            if conversation.conv == conv:
                return conversation.members
        return ()

    def _is_new_to_me(self, event: GroupEvent, members: tuple[AccountId, ...]) -> bool:
        me = self.client.account_id
        if self._known is None:
            return event.account == me
        return me in members and event.conv not in self._known

    async def show(self, event: GroupEvent) -> None:
        conv = event.conv
        if event.event == "renamed":
            before = self.groups.cached(conv)
            self.groups.forget(conv)
            adder = self._joining.pop(conv, None)
            if adder is not None:
                await self._added_me(conv, adder)
                return
            if before is not None and before == await self.groups.name(conv):
                return  # the same name again (sent for members just added): nothing to say
            tag = await self.groups.tag(conv)
            self.console.print(Text.assemble("👥 ", await self.name(event.by), " named the group ", tag))
            return
        if event.event == "added":
            members = await self.members(conv)
            if self._is_new_to_me(event, members):
                if self._known is not None:
                    self._known.add(conv)
                for account in members[:LEARNT_MEMBERS]:  # while they are visible to me
                    await self.name(account)
                if await self.groups.name(conv) is None:
                    self._joining[conv] = event.by
                else:
                    await self._added_me(conv, event.by)
                return
        if event.account == self.client.account_id and event.event in ("removed", "left"):
            if self._known is not None:
                self._known.discard(conv)
            self._joining.pop(conv, None)
        tag = await self.groups.tag(conv)
        by, who = await self.name(event.by), await self.name(event.account)
        match event.event:
            case "added":
                line = Text.assemble("👥 ", by, " added ", who, " to ", tag)
            case "removed":
                line = Text.assemble("👥 ", by, " removed ", who, " from ", tag)
            case "left":
                line = Text.assemble("👥 ", who, " left ", tag)
            case "joined":
                line = Text.assemble("👥 ", who, " joined ", tag, " with an invite link")
            case "promoted" | "demoted":
                line = Text.assemble("👥 ", by, f" {event.event} ", who, " in ", tag)
            case "avatar":
                line = Text.assemble("👥 ", by, " changed the picture of ", tag)
            case _:
                return  # device changes of members: the keys follow by themselves
        self.console.print(line)

    async def before_message(self, conv: ConversationId) -> None:
        """A group's message is about to be shown: if I was added and its name never came, say so."""
        adder = self._joining.pop(conv, None)
        if adder is not None:
            await self._added_me(conv, adder)

    async def _added_me(self, conv: ConversationId, by: AccountId) -> None:
        me = self.client.account_id
        others = [m for m in await self.members(conv) if m not in (me, by)]
        tag = await self.groups.tag(conv)
        if by == me:  # made (or joined) from another of my devices
            line = Text.assemble("👥 you are in ", tag, " (from another of your devices)")
        else:
            line = Text.assemble("👥 ", await self.name(by), " added you to ", tag)
        if others:
            names = [await self.name(m) for m in others[:NAMED_MEMBERS]]
            line.append(" with ")
            for part in joined(names, len(others) - len(names)):
                line.append_text(part if isinstance(part, Text) else Text(part))
        self.console.print(line)


class DeviceNotices:
    """My account's devices, by name."""

    def __init__(self, client: Client, console: Console) -> None:
        self.client = client
        self.console = console
        self._names: dict[DeviceId, str] = {}

    async def learn(self) -> None:
        """The names of my devices now (a removed device's name cannot be asked for afterwards)."""
        try:
            self._names.update({d.device_id: d.name for d in await self.client.devices()})
        except SdkError:
            pass  # best effort: the notice then says "a device"

    async def show(self, event: DeviceEvent) -> None:
        if event.event == "added":
            await self.learn()
            name = self._names.get(event.device_id)
            named = f", “{name}”," if name else ""
            self.console.print(f"🔐 a new device{named} was added to your account (/devices lists them)")
            return
        name = self._names.pop(event.device_id, None)
        named = f" “{name}”" if name else " (one of yours)"
        self.console.print(f"🔐 the device{named} was {event.event} from your account")
