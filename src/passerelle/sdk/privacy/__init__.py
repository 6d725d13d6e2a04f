"""``client.privacy``: contacts, message requests, blocks, reports, settings, export and erasure
(docs/protocol.md §9)."""

from __future__ import annotations

from passerelle.sdk.privacy.api import Listed, MessageRequest, PrivacyApi, PrivacySettings

__all__ = ["Listed", "MessageRequest", "PrivacyApi", "PrivacySettings"]
