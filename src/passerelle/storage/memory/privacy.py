"""Contacts, blocks, member states of direct conversations, privacy settings and reports of
``MemoryStore`` (the ``PrivacyStore`` methods but export and erasure, which are in ``erasure``)."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.conversations import ConversationKind, direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.privacy.records import PrivacySettings, Relation, ReportRecord, RequestRecord
from passerelle.storage.memory.database import IntegrityError, MemoryDatabase, PrivacyRow, StateRow
from passerelle.storage.memory.mailbox import delete_items
from passerelle.storage.memory.part import MemoryPart


def _set_state(
    db: MemoryDatabase, conv: ConversationId, account: AccountId, state: MemberState, now: Timestamp
) -> None:
    db.need_conversation(conv)
    db.need_account(account)
    db.member_states[(conv, account)] = StateRow(state=state, since=now)


def relations(pairs: dict[tuple[AccountId, AccountId], Timestamp], owner: AccountId) -> list[Relation]:
    found = sorted((since, other) for (me, other), since in pairs.items() if me == owner)
    return [Relation(account=other, since=since) for since, other in found]


def reports_by(db: MemoryDatabase, reporter: AccountId) -> list[ReportRecord]:
    mine = [r for r in db.reports.values() if r.reporter == reporter]
    return sorted(mine, key=lambda r: (r.created_at, r.id))


def privacy_settings(db: MemoryDatabase, account: AccountId) -> PrivacySettings:
    row = db.privacy.get(account)
    if row is None:
        return PrivacySettings()
    return PrivacySettings(
        message_from=row.message_from, last_seen=row.last_seen, last_seen_at=row.last_seen_at
    )


class MemoryPrivacyStore(MemoryPart):
    async def pair_facts(self, a: AccountId, b: AccountId) -> PairFacts:
        db = await self._begin()
        pairs = {(a, b), (b, a)}
        conv = direct_conversation_id(a, b)
        message_from: dict[AccountId, MessageFrom] = {}
        for account in (a, b):
            row = db.privacy.get(account)
            if row is not None and row.message_from is not MessageFrom.EVERYONE:
                message_from[account] = row.message_from
        return PairFacts(
            blocks=frozenset(p for p in pairs if p in db.blocks),
            contacts=frozenset(p for p in pairs if p in db.contacts),
            states={acc: row.state for (c, acc), row in db.member_states.items() if c == conv},
            message_from=message_from,
        )

    async def decide_state(
        self, conv: ConversationId, account: AccountId, state: MemberState, *, now: Timestamp
    ) -> MemberState:
        db = await self._begin()
        found = db.member_states.get((conv, account))
        if found is not None:
            return found.state
        _set_state(db, conv, account, state, now)
        return state

    async def accept_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, now: Timestamp
    ) -> None:
        db = await self._begin()
        db.need_account(other)
        _set_state(db, conv, account, MemberState.ACCEPTED, now)
        db.contacts.setdefault((account, other), now)

    async def decline_conversation(
        self, conv: ConversationId, account: AccountId, other: AccountId, *, block: bool, now: Timestamp
    ) -> int:
        db = await self._begin()
        if block:
            db.need_account(other)
        _set_state(db, conv, account, MemberState.DECLINED, now)
        if block:
            db.blocks.setdefault((account, other), now)
        mine = set(db.devices_of.get(account, ()))
        return delete_items(
            db,
            lambda row: row.item.conv == conv and row.item.sender == other and row.item.device in mine,
        )

    async def list_requests(self, account: AccountId, state: MemberState) -> list[RequestRecord]:
        db = await self._begin()
        found: list[RequestRecord] = []
        for (conv, member), row in db.member_states.items():
            conversation = db.conversations.get(conv)
            if member != account or row.state is not state or conversation is None:
                continue
            if conversation.kind is not ConversationKind.DIRECT:
                continue
            found += [
                RequestRecord(conv=conv, sender=other, state=row.state, since=row.since)
                for other in conversation.members
                if other != account
            ]
        return sorted(found, key=lambda r: (r.since, r.conv))

    async def add_contact(self, owner: AccountId, contact: AccountId, *, now: Timestamp) -> None:
        db = await self._begin()
        db.need_account(owner, contact)
        db.contacts.setdefault((owner, contact), now)

    async def remove_contact(self, owner: AccountId, contact: AccountId) -> bool:
        db = await self._begin()
        return db.contacts.pop((owner, contact), None) is not None

    async def list_contacts(self, owner: AccountId) -> list[Relation]:
        db = await self._begin()
        return relations(db.contacts, owner)

    async def block(self, blocker: AccountId, blocked: AccountId, *, now: Timestamp) -> None:
        db = await self._begin()
        db.need_account(blocker, blocked)
        db.blocks.setdefault((blocker, blocked), now)

    async def unblock(self, blocker: AccountId, blocked: AccountId) -> bool:
        db = await self._begin()
        return db.blocks.pop((blocker, blocked), None) is not None

    async def list_blocks(self, blocker: AccountId) -> list[Relation]:
        db = await self._begin()
        return relations(db.blocks, blocker)

    async def get_privacy(self, account: AccountId) -> PrivacySettings:
        db = await self._begin()
        return privacy_settings(db, account)

    async def set_privacy(
        self, account: AccountId, *, message_from: MessageFrom, last_seen: LastSeenVisibility
    ) -> None:
        db = await self._begin()
        db.need_account(account)
        row = db.privacy.setdefault(account, PrivacyRow())
        row.message_from = message_from
        row.last_seen = last_seen

    async def record_last_seen(self, seen: Sequence[tuple[AccountId, Timestamp]]) -> None:
        """An account erased meanwhile gets no row."""
        db = await self._begin()
        for account, ts in seen:
            if account in db.accounts:
                db.privacy.setdefault(account, PrivacyRow()).last_seen_at = ts

    async def add_report(self, report: ReportRecord) -> None:
        db = await self._begin()
        if report.id in db.reports:
            raise IntegrityError(f"report {report.id!r} exists already")
        db.reports[report.id] = report

    async def list_reports(self, *, limit: int, before: Timestamp | None = None) -> list[ReportRecord]:
        """Newest first."""
        db = await self._begin()
        found = [r for r in db.reports.values() if before is None or r.created_at < before]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found[: max(limit, 0)]
