"""Stories and their audiences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    BlobId,
    Timestamp,
)
from passerelle.service.stories.records import StoryId, StoryRecord


class StoryStore(Protocol):
    """Stories (docs/protocol.md §12): metadata and audiences, never content."""

    async def create_story(self, story: StoryRecord, audience: Sequence[AccountId]) -> None: ...

    async def get_story(self, story: StoryId) -> StoryRecord | None: ...

    async def in_story_audience(self, story: StoryId, account: AccountId) -> bool:
        """True when ``account`` is in the story's audience (the author is not, unless listed)."""
        ...

    async def visible_stories(self, account: AccountId, *, now: Timestamp) -> list[StoryRecord]:
        """Unexpired stories the account authored or is in the audience of, oldest first."""
        ...

    async def expired_stories(self, *, now: Timestamp, limit: int) -> list[StoryId]: ...

    async def stories_by(self, author: AccountId) -> list[StoryId]: ...

    async def story_blobs(self, stories: Sequence[StoryId]) -> list[BlobId]:
        """The blobs uploaded into these stories (finished or not)."""
        ...

    async def delete_stories(self, stories: Sequence[StoryId]) -> int:
        """Delete the stories and their audiences (not their blobs); returns how many stories."""
        ...

    async def forget_story_person(self, account: AccountId) -> None:
        """Account erasure: drop the account from every audience, and its story setting."""
        ...

    async def story_cross_app(self, account: AccountId) -> bool: ...

    async def set_story_cross_app(self, account: AccountId, allowed: bool) -> None: ...
