"""Stories of ``MemoryStore`` (``StoryStore``): metadata and audiences, never content. A story's
blobs are blobs whose conversation is the story's id."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, BlobId, Timestamp
from passerelle.service.stories.records import StoryId, StoryRecord
from passerelle.storage.memory.database import IntegrityError
from passerelle.storage.memory.part import MemoryPart


class MemoryStoryStore(MemoryPart):
    async def create_story(self, story: StoryRecord, audience: Sequence[AccountId]) -> None:
        db = await self._begin()
        if story.id in db.stories:
            raise IntegrityError(f"story {story.id!r} exists already")
        db.stories[story.id] = story
        if audience:
            db.story_audience[story.id] = dict.fromkeys(audience)

    async def get_story(self, story: StoryId) -> StoryRecord | None:
        db = await self._begin()
        return db.stories.get(story)

    async def in_story_audience(self, story: StoryId, account: AccountId) -> bool:
        db = await self._begin()
        return account in db.story_audience.get(story, ())

    async def visible_stories(self, account: AccountId, *, now: Timestamp) -> list[StoryRecord]:
        db = await self._begin()
        found = [
            s
            for s in db.stories.values()
            if s.expires_at > now and (s.author == account or account in db.story_audience.get(s.id, ()))
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    async def expired_stories(self, *, now: Timestamp, limit: int) -> list[StoryId]:
        db = await self._begin()
        expired = sorted((s.expires_at, s.id) for s in db.stories.values() if s.expires_at <= now)
        return [story for _, story in expired[: max(limit, 0)]]

    async def stories_by(self, author: AccountId) -> list[StoryId]:
        db = await self._begin()
        mine = sorted((s.created_at, s.id) for s in db.stories.values() if s.author == author)
        return [story for _, story in mine]

    async def story_blobs(self, stories: Sequence[StoryId]) -> list[BlobId]:
        db = await self._begin()
        wanted: set[str] = set(stories)
        return sorted(b.id for b in db.blobs.values() if b.conv in wanted)

    async def delete_stories(self, stories: Sequence[StoryId]) -> int:
        db = await self._begin()
        deleted = 0
        for story in dict.fromkeys(stories):
            db.story_audience.pop(story, None)
            if db.stories.pop(story, None) is not None:
                deleted += 1
        return deleted

    async def forget_story_person(self, account: AccountId) -> None:
        db = await self._begin()
        for audience in db.story_audience.values():
            audience.pop(account, None)
        db.story_settings.pop(account, None)

    async def story_cross_app(self, account: AccountId) -> bool:
        db = await self._begin()
        return db.story_settings.get(account, True)

    async def set_story_cross_app(self, account: AccountId, allowed: bool) -> None:
        db = await self._begin()
        db.story_settings[account] = allowed
