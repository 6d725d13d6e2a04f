"""``client.groups``: groups of people from any app, end-to-end encrypted with Megolm (§10).

```python
group = await alice.groups.create("Vélo du dimanche", [bob.account_id, carol.account_id])
await alice.groups.send_text(group.conv, "On part à 9 h")   # arrives in everyone's messages()
link = await alice.groups.create_invite(group.conv)          # pass link.token on; revoke_invite()
await alice.groups.remove(group.conv, carol.account_id)       # carol can read nothing sent after
```
The server keeps the member list and admins; the name and the avatar are content, sent encrypted
to the members (a ``p.group`` event) and kept sealed in the local store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.errors import InvalidInput
from passerelle.sdk.events import SentMessage
from passerelle.sdk.groups.inbox import GroupInbox
from passerelle.sdk.groups.keys import GroupKeys
from passerelle.sdk.groups.rest import GroupInfo, GroupRest, InviteLink
from passerelle.sdk.messaging.inbox import MyFeatures
from passerelle.sdk.messaging.outbox import check_text, check_ttl, new_client_id, send_pending
from passerelle.sdk.schema import Attachment, TextContent
from passerelle.sdk.store import history

MAX_NAME_CHARS = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    conv: ConversationId
    name: str | None
    """As last set by a member (encrypted content); None until known here."""
    avatar: Attachment | None
    members: tuple[AccountId, ...]
    admins: tuple[AccountId, ...]


class GroupsApi:
    def __init__(
        self,
        ctx: SdkContext,
        devices: DeviceDirectory,
        conversations: ConversationBook,
        *,
        features: MyFeatures | None = None,
    ) -> None:
        self._ctx = ctx
        self._me = ctx.me
        self._store = ctx.store
        self._convs = conversations
        self._now = ctx.now_ms
        self._rest = GroupRest(ctx.rest)
        self.keys = GroupKeys(ctx, devices, self._rest)
        self.inbox = GroupInbox(ctx, self.keys, conversations, features)
        """The Inbox's handler of group traffic (passerelle.sdk.messaging.inbox.GroupHandler)."""

    # --- the group and its members -------------------------------------------------------------------

    async def create(self, name: str, members: Sequence[str]) -> Group:
        """A new group with me as its admin; ``name`` goes to the members encrypted."""
        _check_name(name)
        info = await self._rest.create([str(m) for m in members])
        await self._remember(info)
        await self.rename(info.conv, name)
        return await self._group(info)

    async def info(self, conv: str) -> Group:
        """Members and admins (asked of the server), name and avatar (from the encrypted state)."""
        info = await self._rest.show(conv)
        await self._remember(info)
        return await self._group(info)

    async def rename(self, conv: str, name: str) -> None:
        _check_name(name)
        await self._state_event(ConversationId(conv), {"name": name})

    async def set_avatar(self, conv: str, avatar: Attachment) -> None:
        """Set the group picture: an image already encrypted and uploaded to this group's
        conversation (``client.media``); its key travels to the members inside Megolm."""
        await self._state_event(ConversationId(conv), {"avatar": msgspec.to_builtins(avatar)})

    async def add(self, conv: str, accounts: Sequence[str]) -> Group:
        """Add people (admins only); they get the group's key with the next message."""
        info = await self._rest.add(conv, [str(a) for a in accounts])
        await self._remember(info)
        return await self._group(info)

    async def remove(self, conv: str, account: str) -> Group:
        """Remove a member (admins only). My next message uses a new session they never get."""
        info = await self._rest.remove(conv, account)
        await self._remember(info)
        await self.keys.discard(ConversationId(conv))
        return await self._group(info)

    async def leave(self, conv: str) -> None:
        await self._rest.leave(conv)
        await self.keys.discard(ConversationId(conv))
        await self._store.db.run(history.upsert_conversation_txn, conv, kind="group", members=[])

    async def promote(self, conv: str, account: str) -> Group:
        return await self._group(await self._rest.set_admin(conv, account, True))

    async def demote(self, conv: str, account: str) -> Group:
        return await self._group(await self._rest.set_admin(conv, account, False))

    # --- invite links --------------------------------------------------------------------------------

    async def create_invite(self, conv: str) -> InviteLink:
        """A new invite link (admins only); its ``token`` is the secret to pass on."""
        return await self._rest.create_invite(conv)

    async def invites(self, conv: str) -> list[InviteLink]:
        return await self._rest.invites(conv)

    async def revoke_invite(self, conv: str, invite_id: str) -> None:
        await self._rest.revoke_invite(conv, invite_id)

    async def join(self, token: str) -> Group:
        """Join the group of an invite link; its members' keys arrive with their next messages."""
        info = await self._rest.join(token)
        await self._remember(info)
        return await self._group(info)

    # --- messages --------------------------------------------------------------------------------------

    async def send_text(self, conv: str, text: str, *, ttl: int | None = None) -> SentMessage:
        """Send ``text`` to every member device (stored once by the server); returns once stored."""
        check_text(text)
        check_ttl(ttl)
        content = TextContent(id=new_client_id(), ts=self._now(), body=text, ttl=ttl)
        return await self.send_content(conv, content)

    async def send_content(self, conv: str, content: TextContent) -> SentMessage:
        """Send prepared content (``client.media.prepare(conv, ...)`` for an attachment) to the group."""
        group = ConversationId(conv)
        found = await self._convs.get(group)
        timer = found.timer if found is not None else 0
        wire = msgspec.to_builtins(content)
        send = partial(self.keys.send_event, group, "p.msg", wire, client_id=content.id, ttl=content.ttl)
        return await send_pending(self._ctx, group, timer, content, send)

    async def _state_event(self, conv: ConversationId, values: dict[str, Any]) -> None:
        await self.keys.send_event(conv, "p.group", values, client_id=new_client_id())
        await self.keys.put_group_state(conv, values)

    # --- local view ------------------------------------------------------------------------------------

    async def _remember(self, info: GroupInfo) -> None:
        await self._store.db.run(
            history.upsert_conversation_txn, info.conv, kind="group", members=info.members, timer=info.timer
        )

    async def _group(self, info: GroupInfo) -> Group:
        known = await self.keys.group_state(ConversationId(info.conv))
        avatar = None
        if isinstance(known.get("avatar"), dict):
            try:
                avatar = msgspec.convert(known["avatar"], Attachment)
            except msgspec.MsgspecError:
                avatar = None
        name = known.get("name")
        return Group(
            conv=ConversationId(info.conv),
            name=name if isinstance(name, str) else None,
            avatar=avatar,
            members=tuple(AccountId(m) for m in info.members),
            admins=tuple(AccountId(a) for a in info.admins),
        )


def _check_name(name: str) -> None:
    if not 0 < len(name) <= MAX_NAME_CHARS or not name.strip():
        raise InvalidInput(f"a group name has 1 to {MAX_NAME_CHARS} characters")
