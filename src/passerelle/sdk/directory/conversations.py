"""The members and timers of this device's conversations: from the local store, or else (a
conversation unknown here, on first use) from the server."""

from __future__ import annotations

from passerelle.domain.conversations import TIMERS_S, direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.errors import InvalidInput
from passerelle.sdk.events import Conversation
from passerelle.sdk.schema import ConversationInfo
from passerelle.sdk.store import history


class ConversationBook:
    """Members and timers of my conversations, from the local store or else the server."""

    def __init__(self, ctx: SdkContext) -> None:
        self._rest = ctx.rest
        self._store = ctx.store

    async def get(self, conv: ConversationId) -> Conversation | None:
        found = await self._store.db.run(history.conversation_txn, conv)
        if found is None:
            await self.sync()
            found = await self._store.db.run(history.conversation_txn, conv)
        return found

    async def direct(self, me: AccountId, other: AccountId) -> Conversation:
        """The direct conversation with ``other`` (created on the server if needed; idempotent)."""
        found = await self._store.db.run(history.conversation_txn, direct_conversation_id(me, other))
        if found is not None:
            return found
        info = await self._rest.open_direct(other)
        await self._save(info)
        found = await self._store.db.run(history.conversation_txn, info.conv)
        assert found is not None
        return found

    async def sync(self) -> list[Conversation]:
        """Fetch every conversation (members, timers) from the server."""
        for info in await self._rest.conversations():
            await self._save(info)
        return await self._store.db.run(history.conversations_txn)

    async def set_timer(self, conv: ConversationId, seconds: int) -> None:
        """Record a timer someone set (a ``timer`` notice)."""
        await self._store.db.run(history.set_timer_txn, conv, seconds)

    async def change_timer(self, conv: ConversationId, seconds: int) -> None:
        """Set the timer for every member (the server tells their devices)."""
        if seconds not in TIMERS_S:
            raise InvalidInput(f"a timer is one of {sorted(TIMERS_S)} seconds")
        await self._rest.set_timer(conv, seconds)
        if await self.get(conv) is not None:
            await self.set_timer(conv, seconds)

    async def _save(self, info: ConversationInfo) -> None:
        await self._store.db.run(
            history.upsert_conversation_txn, info.conv, kind=info.kind, members=info.members, timer=info.timer
        )
