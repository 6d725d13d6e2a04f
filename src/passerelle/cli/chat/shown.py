"""What a terminal session has shown: numbered messages, group names, who is being talked to.

Every message printed gets a number, ``(3)``, so a command can name it: ``/save 3 photo.jpg``,
``/react 3 👍``, ``/reply 3 text``. Numbers last for the session; a message shown again (in
``/history``) keeps its number. Group names are content (end-to-end encrypted): they come from the
device's own sealed store, never from the server.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text

from passerelle.cli.chat.view import group_tag
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk import Client, Message, MessageState, SentMessage
from passerelle.sdk.schema import Attachment

UNNAMED = "(a group without a name yet)"


def no_message(number: str | int) -> str:
    return f"there is no message ({number}): the number is the one shown before a message, like (3)"


def is_group(conv: str) -> bool:
    return conv.startswith("g_")


class ShownMessages:
    """Session numbers for messages, by (sender, client id): the same message keeps its number."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}
        self._messages: list[Message] = []

    def number(self, message: Message) -> int:
        key = (message.sender, message.client_id)
        found = self._numbers.get(key)
        if found is None:
            self._messages.append(message)
            found = self._numbers[key] = len(self._messages)
        else:
            self._messages[found - 1] = message  # the newer copy (its server id, its state)
        return found

    def previous(self, message: Message) -> Message | None:
        """The copy of this message shown before, if any (a change re-sends the whole message)."""
        found = self._numbers.get((message.sender, message.client_id))
        return self._messages[found - 1] if found is not None else None

    def number_of(self, sender: str, client_id: str) -> int | None:
        """The number of a message shown, by its sender and content id (what a reply refers to)."""
        return self._numbers.get((sender, client_id))

    def get(self, number: int) -> Message | None:
        return self._messages[number - 1] if 0 < number <= len(self._messages) else None

    def find(self, conv: str, mid: int) -> Message | None:
        """A shown message by its server id (receipts, reactions and edits refer to those)."""
        for message in reversed(self._messages):
            if message.conv == conv and message.id == mid:
                return message
        return None


def sent_message(
    client: Client, sent: SentMessage, text: str, *, attachment: Attachment | None = None
) -> Message:
    """What this device just sent, as the Message its history now holds."""
    return Message(
        conv=sent.conv,
        id=sent.id,
        client_id=sent.client_id,
        sender=client.account_id,
        sender_device=client.device_id,
        text=text,
        ts=sent.ts,
        expires_at=sent.expires_at,
        outgoing=True,
        state=MessageState.SENT,
        attachment=attachment,
    )


def with_text(message: Message, text: str) -> Message:
    return replace(message, text=text)


class GroupNames:
    """Each group's name as this device knows it (sealed in its store), cached for the session."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._names: dict[ConversationId, str] = {}

    async def name(self, conv: ConversationId) -> str | None:
        cached = self._names.get(conv)
        if cached is not None:
            return cached
        known = await self._client.groups.keys.group_state(conv)
        name = known.get("name")
        if isinstance(name, str) and name:
            self._names[conv] = name
            return name
        return None

    async def tag(self, conv: ConversationId) -> Text:
        """``#Vélo du dimanche`` (or ``#(a group without a name yet)`` while its name has not arrived)."""
        return group_tag(await self.name(conv) or UNNAMED)

    def cached(self, conv: ConversationId) -> str | None:
        """The name this session last read, if any (before the store was asked again)."""
        return self._names.get(conv)

    def forget(self, conv: ConversationId) -> None:
        """The group was renamed: read its name again."""
        self._names.pop(conv, None)

    async def groups(self) -> list[tuple[ConversationId, str, tuple[AccountId, ...]]]:
        """The groups this device is in (conv, name, members), by name."""
        found = []
        for conversation in await self._client.conversations():
            if conversation.kind != "group" or self._client.account_id not in conversation.members:
                continue
            name = await self.name(conversation.conv) or UNNAMED
            found.append((conversation.conv, name, conversation.members))
        return sorted(found, key=lambda g: g[1].casefold())
