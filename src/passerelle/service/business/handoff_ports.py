"""What hand-offs need from storage (docs/bots.md, "Hand-off"): ``HandOffStore``, every method one
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, Timestamp


class HandOffStatus(StrEnum):
    OPEN = "open"
    """The bot asked for a person; nobody took it yet. The bot is silent."""
    TAKEN = "taken"
    """An agent has the conversation. The bot is silent."""
    HANDED_BACK = "handed_back"
    """The agent gave the conversation back to the bot (final)."""
    RESOLVED = "resolved"
    """Done (final); the bot speaks again."""


ACTIVE = frozenset({HandOffStatus.OPEN, HandOffStatus.TAKEN})
NEXT: dict[HandOffStatus, frozenset[HandOffStatus]] = {
    HandOffStatus.TAKEN: frozenset({HandOffStatus.OPEN, HandOffStatus.TAKEN}),
    HandOffStatus.HANDED_BACK: ACTIVE,
    HandOffStatus.RESOLVED: ACTIVE,
}
"""From which statuses each status may be reached (taking a taken one moves it to another agent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOffRecord:
    id: str
    business: BusinessId
    number: str
    """The phone number id the bot asked through (the webhook's ``metadata``)."""
    account: AccountId
    user_id: str
    """The person's id at the business (what its bot and agents see)."""
    summary: str
    """Written by the bot; the server never reads the conversation."""
    reason: str
    status: HandOffStatus
    agent: str
    """Who took it ('' until taken)."""
    created_at: Timestamp
    updated_at: Timestamp

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class HandOffStore(Protocol):
    async def open_handoff(self, record: HandOffRecord, *, cap: int) -> tuple[HandOffRecord, bool] | None:
        """Insert ``record`` (open) unless the person already has an active hand-off at the business:
        (the active one, created?). None (nothing written) when the business has ``cap`` active
        hand-offs or does not exist."""
        ...

    async def get_handoff(self, business: BusinessId, handoff: str) -> HandOffRecord | None: ...

    async def active_handoffs(self, business: BusinessId, *, limit: int) -> list[HandOffRecord]:
        """The open and taken hand-offs of the business, oldest first, at most ``limit``."""
        ...

    async def move_handoff(
        self, business: BusinessId, handoff: str, to: HandOffStatus, *, agent: str, at: Timestamp
    ) -> HandOffRecord | None:
        """Move the hand-off to ``to`` if its status allows it (``NEXT``); the changed record, or None
        (nothing written) when there is no such hand-off or it may not move so."""
        ...

    async def forget_handoffs_of(self, account: AccountId) -> None:
        """Erasure: every hand-off of the person."""
        ...

    async def forget_handoffs_before(self, before: Timestamp) -> int:
        """Retention: finished hand-offs last changed before ``before``; how many."""
        ...
