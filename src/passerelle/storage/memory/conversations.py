"""Conversations and their members of ``MemoryStore`` (``ConversationStore``)."""

from __future__ import annotations

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.service.groups.records import Role
from passerelle.service.records import ConversationRecord
from passerelle.storage.memory.database import ConversationRow, MemoryDatabase
from passerelle.storage.memory.part import MemoryPart


def conversation_record(db: MemoryDatabase, conv: ConversationId) -> ConversationRecord | None:
    """The conversation with its members in account order; None when it is unknown or has no
    member left (as the SQL stores' join finds nothing then)."""
    row = db.conversations.get(conv)
    if row is None or not row.members:
        return None
    return ConversationRecord(
        id=conv,
        kind=row.kind,
        members=tuple(sorted(row.members)),
        timer_s=row.timer_s,
        created_at=row.created_at,
    )


def conversations_of(db: MemoryDatabase, account: AccountId) -> list[ConversationRecord]:
    """The account's conversations, oldest first (created_at, then id)."""
    found = [
        record
        for conv, row in db.conversations.items()
        if account in row.members and (record := conversation_record(db, conv)) is not None
    ]
    found.sort(key=lambda r: (r.created_at, r.id))
    return found


def insert_conversation(
    db: MemoryDatabase,
    conv: ConversationId,
    kind: ConversationKind,
    now: Timestamp,
    members: dict[AccountId, Role],
) -> ConversationRecord:
    """Insert the conversation unless it exists, and the members that are not in it yet (an
    existing member keeps its role). Every account must exist (checked here, before any change)."""
    db.need_account(*members)
    row = db.conversations.get(conv)
    if row is None:
        row = db.conversations[conv] = ConversationRow(kind=kind, timer_s=0, created_at=now)
    for account, role in members.items():
        row.members.setdefault(account, role)
    record = conversation_record(db, conv)
    assert record is not None, "the conversation was inserted in this transaction"
    return record


class MemoryConversationStore(MemoryPart):
    async def ensure_direct(
        self, conv: ConversationId, a: AccountId, b: AccountId, *, now: Timestamp
    ) -> ConversationRecord:
        db = await self._begin()
        members = {a: Role.MEMBER, b: Role.MEMBER}
        return insert_conversation(db, conv, ConversationKind.DIRECT, now, members)

    async def get_conversation(self, conv: ConversationId) -> ConversationRecord | None:
        db = await self._begin()
        return conversation_record(db, conv)

    async def list_conversations(self, account: AccountId) -> list[ConversationRecord]:
        db = await self._begin()
        return conversations_of(db, account)

    async def set_timer(self, conv: ConversationId, timer_s: int) -> None:
        db = await self._begin()
        row = db.conversations.get(conv)
        if row is not None:
            row.timer_s = timer_s

    async def shares_conversation(self, a: AccountId, b: AccountId) -> bool:
        db = await self._begin()
        return any(a in row.members and b in row.members for row in db.conversations.values())
