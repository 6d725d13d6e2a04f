"""``client.media``: encrypted files, images, videos and voice notes (docs/protocol.md §8)."""

from __future__ import annotations

from passerelle.sdk.media.api import MediaApi, TamperedAttachment

__all__ = ["MediaApi", "TamperedAttachment"]
