"""``client.stories``: stories that live 24 hours (docs/protocol.md §12)."""

from __future__ import annotations

from passerelle.sdk.stories.api import FALLBACK_TEXT, PostedStory, StoriesApi, Story, Viewer

__all__ = ["FALLBACK_TEXT", "PostedStory", "StoriesApi", "Story", "Viewer"]
