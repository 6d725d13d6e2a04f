"""Stories arriving over Olm (docs/protocol.md §12): ``p.story`` and ``p.story_seen`` go to the
device's stories list, never to a conversation's history.

``StoryInbox`` wraps the group handler the Inbox already has (it hands every other event type and
all group traffic to it), so the Inbox needs no knowledge of stories. Each item is consumed in one
local transaction with the session state its decryption advanced.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import msgspec

from passerelle.crypto import DecryptedEvent
from passerelle.proto.frames import Item
from passerelle.sdk import schema
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.messaging.inbox import GroupHandler, InboxResult
from passerelle.sdk.store import state, story_state
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)

STORY = "p.story"
STORY_SEEN = "p.story_seen"
STORY_TYPES = frozenset({STORY, STORY_SEEN})
MAX_STORY_TTL_MS = 25 * 3600 * 1000
"""A story claiming to live longer than this (24 h and some clock skew) is shortened to it."""


class StoryNews:
    """Wakes whoever waits for a story or a viewer (``StoriesApi.wait_for_*``)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


class StoryInbox:
    """A ``GroupHandler`` that also takes the story events."""

    def __init__(self, ctx: SdkContext, inner: GroupHandler | None, *, news: StoryNews) -> None:
        self._inner = inner
        self._me = ctx.me
        self._crypto = ctx.crypto
        self._store = ctx.store
        self._news = news

    def is_group_body(self, item: Item) -> bool:
        return self._inner is not None and self._inner.is_group_body(item)

    async def body(self, item: Item, result: InboxResult) -> None:
        assert self._inner is not None
        await self._inner.body(item, result)

    def handles(self, event_type: str) -> bool:
        return event_type in STORY_TYPES or (self._inner is not None and self._inner.handles(event_type))

    async def member(self, item: Item, result: InboxResult) -> None:
        if self._inner is not None:
            await self._inner.member(item, result)

    async def olm_event(
        self, item: Item, sender: KnownDevice, event: DecryptedEvent, result: InboxResult
    ) -> None:
        if event.type not in STORY_TYPES:
            assert self._inner is not None
            await self._inner.olm_event(item, sender, event, result)
            return
        changes = self._crypto.take_changes()
        key = self._store.key
        me = self._me.account_id

        def consume_txn(conn: sqlite3.Connection) -> bool:
            state.consume_txn(conn, changes, item.mid, item.exp)
            if event.type == STORY:
                content = schema.convert(event.content, story_state.StoryContent)
                if content.expires_at > item.ts + MAX_STORY_TTL_MS:
                    content = msgspec.structs.replace(content, expires_at=item.ts + MAX_STORY_TTL_MS)
                return story_state.insert_story_txn(
                    conn,
                    key,
                    content,
                    author=item.sender,
                    author_device=item.dev,
                    outgoing=item.sender == me,
                )
            seen = schema.convert(event.content, story_state.StorySeen)
            if item.sender == me:  # I viewed it on another device
                return story_state.mark_viewed_txn(conn, seen.story)
            return story_state.add_viewer_txn(conn, seen.story, item.sender, item.ts)

        try:
            changed = await self._store.db.run(consume_txn)
        except msgspec.MsgspecError:
            logger.warning("dropped a malformed story event")
            await self._store.db.run(state.consume_txn, changes, item.mid, item.exp)
            return
        if changed:
            self._news.changed()
