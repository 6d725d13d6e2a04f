"""``SqlPrivacyStore``, the PrivacyStore part of ``SqlStore``: each method one transaction function
of ``storage.sql.privacy`` or ``storage.sql.erase`` run on the store's engine."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.privacy.records import (
    AccountExport,
    ErasedAccount,
    PrivacySettings,
    Relation,
    ReportRecord,
    RequestRecord,
)
from passerelle.storage.sql import erase as sql_erase
from passerelle.storage.sql import privacy as sql_privacy
from passerelle.storage.sql.part import SqlPart


class SqlPrivacyStore(SqlPart):
    async def pair_facts(self, a: AccountId, b: AccountId) -> PairFacts:
        return await self._engine.read(sql_privacy.pair_facts_txn, a, b)

    async def decide_state(
        self, conv: ConversationId, account: AccountId, state: MemberState, *, now: Timestamp
    ) -> MemberState:
        return await self._engine.write(sql_privacy.decide_state_txn, conv, account, state, now)

    async def accept_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, now: Timestamp
    ) -> None:
        await self._engine.write(sql_privacy.accept_txn, conv, account, other, now)

    async def decline_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, block: bool, now: Timestamp
    ) -> int:
        return await self._engine.write(sql_privacy.decline_txn, conv, account, other, block, now)

    async def list_requests(self, account: AccountId, state: MemberState) -> list[RequestRecord]:
        return await self._engine.read(sql_privacy.list_requests_txn, account, state)

    async def add_contact(self, owner: AccountId, contact: AccountId, *, now: Timestamp) -> None:
        await self._engine.write(sql_privacy.add_contact_txn, owner, contact, now)

    async def remove_contact(self, owner: AccountId, contact: AccountId) -> bool:
        return await self._engine.write(sql_privacy.remove_contact_txn, owner, contact)

    async def list_contacts(self, owner: AccountId) -> list[Relation]:
        return await self._engine.read(sql_privacy.list_contacts_txn, owner)

    async def block(self, blocker: AccountId, blocked: AccountId, *, now: Timestamp) -> None:
        await self._engine.write(sql_privacy.block_txn, blocker, blocked, now)

    async def unblock(self, blocker: AccountId, blocked: AccountId) -> bool:
        return await self._engine.write(sql_privacy.unblock_txn, blocker, blocked)

    async def list_blocks(self, blocker: AccountId) -> list[Relation]:
        return await self._engine.read(sql_privacy.list_blocks_txn, blocker)

    async def get_privacy(self, account: AccountId) -> PrivacySettings:
        return await self._engine.read(sql_privacy.get_privacy_txn, account)

    async def set_privacy(
        self, account: AccountId, *, message_from: MessageFrom, last_seen: LastSeenVisibility
    ) -> None:
        await self._engine.write(sql_privacy.set_privacy_txn, account, message_from, last_seen)

    async def record_last_seen(self, seen: Sequence[tuple[AccountId, Timestamp]]) -> None:
        if seen:
            await self._engine.write(sql_privacy.record_last_seen_txn, seen)

    async def add_report(self, report: ReportRecord) -> None:
        await self._engine.write(sql_privacy.add_report_txn, report)

    async def list_reports(self, *, limit: int, before: Timestamp | None = None) -> list[ReportRecord]:
        return await self._engine.read(sql_privacy.list_reports_txn, limit, before)

    async def export_account(self, account: AccountId) -> AccountExport | None:
        return await self._engine.read(sql_erase.export_account_txn, account)

    async def erase_account(self, account: AccountId) -> ErasedAccount | None:
        return await self._engine.write(sql_erase.erase_account_txn, account)
