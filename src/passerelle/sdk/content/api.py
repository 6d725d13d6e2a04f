"""``client.content``: rich content inside the end-to-end encryption, after the IETF MIMI content
model (docs/protocol.md §11) — replies, reactions, edits, deletes, mentions and conversation themes,
in direct conversations and in groups, between people of any apps.

```python
got = await bob_sees.next(Message)                          # a message bob received
await bob.content.reply(got.conv, got, "Oui !")              # quotes it
await bob.content.react(got, "🎉")                           # again: replaces; unreact(): removes
await alice.content.edit(mine, "9 h 30 plutôt")              # only the sender; history: edited
await alice.content.delete(mine)                              # for everyone; history: a tombstone
await alice.content.mention(conv, "@Bob tu viens ?", {"@Bob": bob.account_id})
await alice.content.set_theme(conv, "#7b2ff7", quick_reaction="🦩")
(await bob.content.conversation(conv)).theme                  # on every member device
```
Every change names its target by content id, which is the same on every device and across resends.
When a recipient's app does not declare a feature (its profile's ``features``), the content carries a
readable ``fallback``, which that app shows as an ordinary message. The server sees none of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk.content.features import Features
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.errors import Forbidden, InvalidInput
from passerelle.sdk.events import Conversation, Event, Message, MessageState, SentMessage
from passerelle.sdk.groups.api import GroupsApi
from passerelle.sdk.messaging import content_rules
from passerelle.sdk.messaging.outbox import Outbox, check_text, check_ttl, expiry, new_client_id
from passerelle.sdk.schema import Mention, ReplyRef, TextContent, Theme
from passerelle.sdk.store import rich_state

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationLook:
    """A conversation's theme as this device knows it (None until a member sets one)."""

    conv: ConversationId
    theme: Theme | None
    set_by: AccountId | None = None
    ts: int | None = None


class ContentApi:
    def __init__(
        self,
        ctx: SdkContext,
        conversations: ConversationBook,
        *,
        outbox: Outbox,
        groups: GroupsApi,
        features: Features,
    ) -> None:
        self._me = ctx.me
        self._store = ctx.store
        self._outbox = outbox
        self._groups = groups
        self._convs = conversations
        self._now = ctx.now_ms
        self.features = features
        """Mine (for what this device shows) and other people's (for fallbacks)."""

    # --- messages of their own: replies and mentions ------------------------------------------------

    async def reply(self, target: str, message: Message, text: str, *, ttl: int | None = None) -> SentMessage:
        """Answer ``message`` in ``target`` (a conversation id, or an account id for a direct
        conversation), quoting it."""
        return await self.send(target, text, reply_to=message, ttl=ttl)

    async def mention(
        self, target: str, text: str, people: Mapping[str, str], *, ttl: int | None = None
    ) -> SentMessage:
        """Send ``text`` naming people: ``people`` maps how each is written in ``text`` (``"@Bob"``)
        to their account id; every occurrence becomes a mention."""
        mentions: list[Mention] = []
        for written, account in people.items():
            starts = [m.start() for m in re.finditer(re.escape(written), text)] if written else []
            if not starts:
                raise InvalidInput(f"{written!r} does not appear in the text")
            mentions.extend(Mention(account=str(account), offset=s, length=len(written)) for s in starts)
        return await self.send(target, text, mentions=sorted(mentions, key=lambda m: m.offset), ttl=ttl)

    async def send(
        self,
        target: str,
        text: str,
        *,
        reply_to: Message | None = None,
        mentions: list[Mention] | None = None,
        ttl: int | None = None,
    ) -> SentMessage:
        """A text message, optionally a reply and with mentions, in a direct conversation or a group."""
        check_text(text)
        check_ttl(ttl)
        conv = await self._route(target)
        ref = None
        if reply_to is not None:
            ref = ReplyRef(
                id=reply_to.client_id, sender=reply_to.sender, quote=content_rules.quote(reply_to.text)
            )
        content = TextContent(
            id=new_client_id(), ts=self._now(), body=text, ttl=ttl, in_reply_to=ref, mentions=mentions or None
        )
        if ref is not None and await self.features.lacking(self._others(conv), content_rules.REPLY):
            content = msgspec.structs.replace(content, fallback=content_rules.fallback_text(content))
        if conv.kind == "group":
            return await self._groups.send_content(conv.conv, content)
        return await self._outbox.send_content(self._other(conv), content)

    # --- changes to other messages -----------------------------------------------------------------

    async def react(self, message: Message, emoji: str) -> Message | None:
        """React to ``message`` with any emoji (mine replaces my earlier reaction). Returns the
        message as this device now shows it."""
        if not emoji or len(emoji) > content_rules.MAX_REACTION_CHARS:
            raise InvalidInput(f"a reaction is 1 to {content_rules.MAX_REACTION_CHARS} characters")
        return await self._reaction(message, emoji)

    async def unreact(self, message: Message) -> Message | None:
        """Remove my reaction to ``message``."""
        return await self._reaction(message, "")

    async def edit(self, message: Message, new_text: str) -> Message | None:
        """Replace the text of a message I sent, for everyone (history shows it ``edited``)."""
        self._mine(message)
        check_text(new_text)
        content = TextContent(
            id=new_client_id(), ts=self._now(), body=new_text, msgtype="edit", replaces=message.client_id
        )
        return await self._as_message(await self.send_change(message.conv, content))

    async def delete(self, message: Message) -> Message | None:
        """Delete a message I sent, for everyone: every device keeps only a tombstone."""
        self._mine(message)
        content = TextContent(
            id=new_client_id(), ts=self._now(), body="", msgtype="delete", replaces=message.client_id
        )
        return await self._as_message(await self.send_change(message.conv, content))

    async def set_theme(self, conv: str, colour: str, *, quick_reaction: str | None = None) -> Theme:
        """Set the conversation's colour (``#rrggbb``) and quick reaction for every member device."""
        if not _COLOUR.match(colour):
            raise InvalidInput("a colour is #rrggbb")
        if quick_reaction is not None and not 0 < len(quick_reaction) <= content_rules.MAX_REACTION_CHARS:
            raise InvalidInput(f"a quick reaction is 1 to {content_rules.MAX_REACTION_CHARS} characters")
        theme = Theme(colour=colour.lower(), quick_reaction=quick_reaction)
        content = TextContent(id=new_client_id(), ts=self._now(), body="", msgtype="theme", theme=theme)
        await self.send_change(conv, content)
        return theme

    async def conversation(self, conv: str) -> ConversationLook:
        found = await self._store.db.run(rich_state.get_theme_txn, self._store.key, conv)
        if found is None:
            return ConversationLook(conv=ConversationId(conv), theme=None)
        return ConversationLook(
            conv=ConversationId(conv), theme=found.theme, set_by=AccountId(found.sender), ts=found.ts
        )

    async def send_change(self, conv: str, content: TextContent) -> Event | None:
        """Low level: send a reaction, edit, delete or theme ``content`` into ``conv`` (with a fallback
        for members whose app lacks the feature) and apply it here. Returns what this device shows."""
        feature = content_rules.FEATURE_OF.get(content.msgtype)
        if feature is None:
            raise InvalidInput(f"{content.msgtype!r} is not a change; send it as a message")
        found = await self._convs.get(ConversationId(conv))
        if found is None:
            raise InvalidInput(f"unknown conversation {conv}")
        if content.fallback is None and await self.features.lacking(self._others(found), feature):
            content = msgspec.structs.replace(content, fallback=content_rules.fallback_text(content))
        if found.kind == "group":
            sent = await self._groups.keys.send_event(
                found.conv, "p.msg", msgspec.to_builtins(content), client_id=content.id, ttl=content.ttl
            )
        else:
            sent = await self._outbox.send_control(
                "p.msg", msgspec.to_builtins(content), to=self._other(found)
            )
        received = content_rules.Received(
            conv=found.conv,
            sender=self._me.account_id,
            sender_device=self._me.device_id,
            content=content,
            mid=sent.mid,
            ts=sent.ts,
            expires_at=expiry(sent.ts, timer=found.timer, ttl=content.ttl),
            outgoing=True,
            state=MessageState.SENT,
        )
        mine = await self.features.mine()
        return await self._store.db.run(content_rules.store_txn, self._store.key, mine, received, self._now())

    # --- helpers ---------------------------------------------------------------------------------

    async def _reaction(self, message: Message, emoji: str) -> Message | None:
        ref = ReplyRef(id=message.client_id, sender=message.sender, quote=content_rules.quote(message.text))
        content = TextContent(
            id=new_client_id(), ts=self._now(), body=emoji, msgtype="reaction", in_reply_to=ref
        )
        return await self._as_message(await self.send_change(message.conv, content))

    async def _as_message(self, shown: Event | None) -> Message | None:
        return shown if isinstance(shown, Message) else None

    def _mine(self, message: Message) -> None:
        if message.sender != self._me.account_id:
            raise Forbidden("only the sender of a message may edit or delete it")

    async def _route(self, target: str) -> Conversation:
        found = await self._convs.get(ConversationId(target))
        if found is not None:
            return found
        return await self._convs.direct(self._me.account_id, AccountId(target))

    def _others(self, conv: Conversation) -> list[AccountId]:
        return [m for m in conv.members if m != self._me.account_id]

    def _other(self, conv: Conversation) -> AccountId:
        others = self._others(conv)
        if len(others) != 1:
            raise InvalidInput(f"{conv.conv} is not a direct conversation with one other person")
        return others[0]
