"""Conversations and their timers."""

from __future__ import annotations

from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    ConversationId,
    Timestamp,
)
from passerelle.service.records import (
    ConversationRecord,
)


class ConversationStore(Protocol):
    async def ensure_direct(
        self, conv: ConversationId, a: AccountId, b: AccountId, *, now: Timestamp
    ) -> ConversationRecord: ...

    async def get_conversation(self, conv: ConversationId) -> ConversationRecord | None: ...

    async def list_conversations(self, account: AccountId) -> list[ConversationRecord]: ...

    async def set_timer(self, conv: ConversationId, timer_s: int) -> None: ...

    async def shares_conversation(self, a: AccountId, b: AccountId) -> bool: ...
