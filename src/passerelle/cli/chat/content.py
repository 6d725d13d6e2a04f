"""Rich content and stories in ``passerelle chat``: ``/react N 👍``, ``/reply N text``, ``/edit N
text``, ``/delete N``, ``/story TEXT``, ``/stories``.

N is the number printed before a message, ``(3)``. Everything goes through the SDK's
``client.content`` and ``client.stories``, inside the end-to-end encryption.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text

from passerelle.cli.chat.events import snippet
from passerelle.cli.chat.shown import no_message, sent_message
from passerelle.cli.chat.slash import CommandGroup
from passerelle.cli.chat.view import when
from passerelle.sdk import Message


@dataclass(eq=False)
class ContentCommands(CommandGroup):
    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "/react": self.react,
            "/edit": self.edit,
            "/delete": self.delete,
            "/story": self.story,
            "/stories": self.stories,
        }

    def _message(self, arg: str, *, usage: str) -> tuple[Message, str] | None:
        number, _, rest = arg.strip().partition(" ")
        if not number.isdigit():
            self.say(Text(f"usage: {usage} (N: the number shown before a message)", style="yellow"))
            return None
        message = self.printer.shown.get(int(number))
        if message is None:
            self.say(Text(no_message(number), style="yellow"))
            return None
        if message.id is None:
            self.say(Text(f"message ({number}) has not reached the server yet", style="yellow"))
            return None
        return message, rest.strip()

    async def reply(self, arg: str) -> None:
        found = self._message(arg, usage="/reply N text")
        if found is None:
            return
        message, text = found
        if not text:
            self.say(Text("usage: /reply N text", style="yellow"))
            return
        sent = await self.client.content.reply(message.conv, message, text)
        number = self.printer.shown.number(sent_message(self.client, sent, text))
        self.say(Text.assemble(f"({number}) ↩ you replied to ({arg.split()[0]}): ", text, " ✓"))

    async def react(self, arg: str) -> None:
        found = self._message(arg, usage="/react N 👍 (or /react N - to remove yours)")
        if found is None:
            return
        message, emoji = found
        if emoji in ("", "-"):
            await self.client.content.unreact(message)
            self.say(f"you removed your reaction to ({arg.split()[0]})")
            return
        await self.client.content.react(message, emoji)
        self.say(
            Text.assemble(
                f"you reacted {emoji} to ({arg.split()[0]}) ", Text(snippet(message.text), style="dim")
            )
        )

    async def edit(self, arg: str) -> None:
        found = self._message(arg, usage="/edit N new text")
        if found is None:
            return
        message, text = found
        if not text:
            self.say(Text("usage: /edit N new text", style="yellow"))
            return
        await self.client.content.edit(message, text)
        self.say(Text.assemble(f"✎ you edited ({arg.split()[0]}): ", text, Text("  (edited)", style="dim")))

    async def delete(self, arg: str) -> None:
        found = self._message(arg, usage="/delete N")
        if found is None:
            return
        await self.client.content.delete(found[0])
        self.say(f"🗑 you deleted ({arg.split()[0]}) for everyone")

    async def story(self, arg: str) -> None:
        if not arg:
            self.say(Text("usage: /story TEXT (your contacts see it for 24 hours)", style="yellow"))
            return
        posted = await self.client.stories.post_text(arg)
        n = len(posted.audience)
        self.say(
            Text.assemble(
                "📖 your story is up until ",
                when(posted.expires_at),
                f", for {n} contact{'s' if n != 1 else ''}",
            )
        )

    async def stories(self, _: str) -> None:
        found = await self.client.stories.list()
        if not found:
            self.say("no stories from your contacts right now")
            return
        for story in found:
            line = Text.assemble("📖 ", await self.printer.name(story.author), ": ", story.text or story.kind)
            line.append(f"  until {when(story.expires_at)}", style="dim")
            self.say(line)
