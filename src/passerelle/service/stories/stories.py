"""Stories (docs/protocol.md §12): who may see a story, and its end.

Rules
1. The server never sees a story: its text, caption, media key and hash travel end-to-end encrypted
   from the author's device to each audience device (``p.story`` over Olm). The server keeps who
   posted it, when, until when, and its audience, so that it can authorise blob downloads.
2. The audience is computed here, at posting time: the author's contacts, minus anyone blocked
   either way, and minus contacts on other apps when the author turned ``stories_cross_app`` off.
3. A story lives 24 hours. Its blobs are uploaded into it (media's container is the story id) by
   its author only, expire with it, and can be downloaded by its author and its audience only;
   anyone else, and anything about an expired or deleted story, is the same ``not_found``.
4. The janitor (and the author's delete) removes the blobs' files first, then the rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.apps import DAY_S
from passerelle.domain.errors import NotFound
from passerelle.domain.ids import AccountId, BlobId, Timestamp
from passerelle.service.ports import AccountStore, Clock, IdGenerator, PrivacyStore, StoryStore
from passerelle.service.records import AccountRecord
from passerelle.service.safety import SafetyPolicy
from passerelle.service.stories.records import STORY_PREFIX, StoryId, StoryRecord


class StoriesStore(StoryStore, AccountStore, PrivacyStore, Protocol):
    """What stories need of the store."""


STORY_TTL_S = DAY_S
EXPIRE_BATCH = 200
_STORY_ID = re.compile(r"^s_[A-Za-z0-9_-]{16,64}$")
_NOT_FOUND = "no such story"


def parse_story_id(value: str) -> StoryId:
    """A story id from a URL or a body; anything that is not one is simply not found."""
    if not _STORY_ID.fullmatch(value):
        raise NotFound(_NOT_FOUND)
    return StoryId(value)


def is_story_container(container: str) -> bool:
    """True when a blob's container (its ``conv`` column) is a story rather than a conversation."""
    return container.startswith(STORY_PREFIX)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedStory:
    story: StoryRecord
    audience: tuple[AccountRecord, ...]
    """Who may see it, with their apps (the author's SDK sends each the key, or a fallback)."""


class BlobDeleter(Protocol):
    """What stories need from media: delete blobs' files and rows (``media.BlobRemover``)."""

    async def delete(self, blobs: Sequence[BlobId]) -> int: ...


class StoryService:
    def __init__(
        self, *, store: StoriesStore, safety: SafetyPolicy, clock: Clock, ids: IdGenerator, blobs: BlobDeleter
    ) -> None:
        self._store = store
        self._safety = safety
        self._clock = clock
        self._ids = ids
        self._blobs = blobs

    # --- posting, listing, deleting -------------------------------------------------------------

    async def post(self, author: AccountId) -> PostedStory:
        """Record a new story of ``author`` with its audience (computed now); returns both."""
        audience = await self.audience(author)
        now = self._clock.now_ms()
        record = StoryRecord(
            id=StoryId(STORY_PREFIX + self._ids.token()),
            author=author,
            created_at=now,
            expires_at=Timestamp(now + STORY_TTL_S * 1000),
            audience_size=len(audience),
        )
        await self._store.create_story(record, [a.id for a in audience])
        return PostedStory(story=record, audience=tuple(audience))

    async def audience(self, author: AccountId) -> list[AccountRecord]:
        """The author's contacts who may see a story posted now (rule 2)."""
        me = await self._store.get_account(author)
        if me is None:
            raise NotFound("no such account")
        cross_app = await self._store.story_cross_app(author)
        found: list[AccountRecord] = []
        for relation in await self._store.list_contacts(author):
            other = await self._store.get_account(relation.account)
            if other is None or (other.app != me.app and not cross_app):
                continue
            if await self._safety.may_message(author, other.id):
                found.append(other)
        return found

    async def visible(self, viewer: AccountId) -> list[StoryRecord]:
        """Unexpired stories the viewer may see, and the viewer's own, oldest first."""
        return await self._store.visible_stories(viewer, now=self._clock.now_ms())

    async def delete(self, caller: AccountId, story_id: StoryId) -> None:
        story = await self._live(story_id)
        if story.author != caller:
            raise NotFound(_NOT_FOUND)
        await self._delete([story.id])

    async def cross_app(self, account: AccountId) -> bool:
        return await self._store.story_cross_app(account)

    async def set_cross_app(self, account: AccountId, allowed: bool) -> bool:
        await self._store.set_story_cross_app(account, allowed)
        return allowed

    # --- media's questions (``MediaService.stories``) -----------------------------------------------

    async def upload_expiry(self, caller: AccountId, container: str) -> Timestamp:
        """When a blob uploaded into this story expires; NotFound unless the caller is its author."""
        story = await self._live(parse_story_id(container))
        if story.author != caller:
            raise NotFound(_NOT_FOUND)
        return story.expires_at

    async def may_download(self, caller: AccountId, container: str) -> bool:
        try:
            story = await self._live(parse_story_id(container))
        except NotFound:
            return False
        if story.author == caller:
            return True
        if not await self._store.in_story_audience(story.id, caller):
            return False
        return await self._safety.may_message(story.author, caller)

    # --- retention and erasure -------------------------------------------------------------------

    async def delete_expired(self, now: Timestamp) -> int:
        """The janitor's part: expired stories and their blobs; returns how many records went."""
        deleted = 0
        while True:
            expired = await self._store.expired_stories(now=now, limit=EXPIRE_BATCH)
            if not expired:
                return deleted
            deleted += await self._delete(expired)
            if len(expired) < EXPIRE_BATCH:
                return deleted

    async def erase_account(self, account: AccountId) -> int:
        """Account erasure: the account's stories (with blobs), audience entries and setting."""
        deleted = await self._delete(await self._store.stories_by(account))
        await self._store.forget_story_person(account)
        return deleted

    # --- helpers ---------------------------------------------------------------------------------

    async def _live(self, story_id: StoryId) -> StoryRecord:
        story = await self._store.get_story(story_id)
        if story is None or story.expires_at <= self._clock.now_ms():
            raise NotFound(_NOT_FOUND)
        return story

    async def _delete(self, stories: Sequence[StoryId]) -> int:
        if not stories:
            return 0
        blobs = await self._store.story_blobs(stories)
        removed = await self._blobs.delete(blobs) if blobs else 0
        return removed + await self._store.delete_stories(stories)
