"""Lookups by address and profiles (docs/protocol.md §4.8)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from passerelle.proto.rest.base import Answer


class Found(Answer, frozen=True):
    """A person, as ``GET /v1/lookup`` and ``GET /v1/accounts/{account_id}`` both show them."""

    account_id: str
    app: str
    display_name: str
    address: str | None = None
    """null when hidden from the caller."""
    features: list[str] | None = None
    """The content features of the person's app (§11); None from a server that does not say."""
    last_seen: int | UnsetType = UNSET
    """Profiles only, when the person's setting allows (§9.4); absent otherwise."""
