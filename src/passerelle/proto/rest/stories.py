"""Stories (docs/protocol.md §12.1): metadata only; the content travels end-to-end encrypted."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from passerelle.proto.rest.base import Answer, Body


class PostStory(Body):
    """``POST /v1/stories``: an empty object."""


class CrossAppChange(Body):
    """``PATCH /v1/stories/settings``."""

    cross_app: bool


class CrossApp(Answer, frozen=True):
    """``GET`` and ``PATCH /v1/stories/settings``."""

    cross_app: bool


class AudienceMember(Answer, frozen=True):
    account_id: str
    app: str


class StoryInfo(Answer, frozen=True, kw_only=True):
    story: str
    author: str = ""
    created_at: int = 0
    expires_at: int
    audience_size: int | UnsetType = UNSET
    """Only on the author's own stories."""


class PostedStory(StoryInfo, frozen=True, kw_only=True):
    """``POST /v1/stories`` (201): who will be offered the story."""

    audience: list[AudienceMember]


class Stories(Answer, frozen=True):
    """``GET /v1/stories``."""

    stories: list[StoryInfo]
