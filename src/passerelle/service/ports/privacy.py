"""Contacts, blocks, message requests, privacy settings, reports, export and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    ConversationId,
    Timestamp,
)
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.privacy.records import (
    AccountExport,
    ErasedAccount,
    PrivacySettings,
    Relation,
    ReportRecord,
    RequestRecord,
)


class PrivacyStore(Protocol):
    """Contacts, blocks, message requests, privacy settings, reports, export and erasure
    (storage.sql.privacy and storage.sql.erase; docs/protocol.md section 9)."""

    async def pair_facts(self, a: AccountId, b: AccountId) -> PairFacts:
        """Blocks and contacts between two people, their direct conversation's member states and
        their ``message_from`` settings, read at once."""
        ...

    async def decide_state(
        self, conv: ConversationId, account: AccountId, state: MemberState, *, now: Timestamp
    ) -> MemberState:
        """Record a member's state unless one is recorded already; return the recorded one."""
        ...

    async def accept_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, now: Timestamp
    ) -> None:
        """The member accepts: state ``accepted`` and ``other`` becomes one of their contacts."""
        ...

    async def decline_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, block: bool, now: Timestamp
    ) -> int:
        """State ``declined`` (and a block when asked); the member's undelivered items from ``other``
        in that conversation are deleted. Returns how many were."""
        ...

    async def list_requests(self, account: AccountId, state: MemberState) -> list[RequestRecord]: ...

    async def add_contact(self, owner: AccountId, contact: AccountId, *, now: Timestamp) -> None: ...

    async def remove_contact(self, owner: AccountId, contact: AccountId) -> bool: ...

    async def list_contacts(self, owner: AccountId) -> list[Relation]: ...

    async def block(self, blocker: AccountId, blocked: AccountId, *, now: Timestamp) -> None: ...

    async def unblock(self, blocker: AccountId, blocked: AccountId) -> bool: ...

    async def list_blocks(self, blocker: AccountId) -> list[Relation]: ...

    async def get_privacy(self, account: AccountId) -> PrivacySettings: ...

    async def set_privacy(
        self, account: AccountId, *, message_from: MessageFrom, last_seen: LastSeenVisibility
    ) -> None: ...

    async def record_last_seen(self, seen: Sequence[tuple[AccountId, Timestamp]]) -> None: ...

    async def add_report(self, report: ReportRecord) -> None: ...

    async def list_reports(self, *, limit: int, before: Timestamp | None = None) -> list[ReportRecord]:
        """Newest first."""
        ...

    async def export_account(self, account: AccountId) -> AccountExport | None: ...

    async def erase_account(self, account: AccountId) -> ErasedAccount | None:
        """Delete the account and every row that names it or its devices, in one transaction."""
        ...
