"""What the server keeps about a story (docs/protocol.md §12): metadata only, never content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from passerelle.domain.ids import AccountId, Timestamp

StoryId = NewType("StoryId", str)
"""``s_`` and a random token; a story's blobs are uploaded into it as into a conversation."""

STORY_PREFIX = "s_"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoryRecord:
    id: StoryId
    author: AccountId
    created_at: Timestamp
    expires_at: Timestamp
    audience_size: int
    """How many people the server let see it (the author's contacts at posting time)."""
