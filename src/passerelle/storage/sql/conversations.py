"""Conversations and their members: shared SQL and transaction functions (see ``storage.sql.txn``),
and ``SqlConversationStore``, their part of ``SqlStore``."""

from __future__ import annotations

from collections.abc import Iterable

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.service.records import ConversationRecord
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, many, one

INSERT_CONVERSATION = (
    "INSERT INTO conversations (id, kind, timer_s, created_at) VALUES (?, ?, 0, ?) ON CONFLICT DO NOTHING"
)
INSERT_MEMBER = "INSERT INTO members (conv, account) VALUES (?, ?) ON CONFLICT DO NOTHING"
SELECT_CONVERSATION = (
    "SELECT c.id, c.kind, c.timer_s, c.created_at, m.account FROM conversations c "
    "JOIN members m ON m.conv = c.id WHERE c.id = ? ORDER BY m.account"
)
LIST_CONVERSATIONS = (
    "SELECT c.id, c.kind, c.timer_s, c.created_at, m.account FROM members mine "
    "JOIN conversations c ON c.id = mine.conv JOIN members m ON m.conv = c.id "
    "WHERE mine.account = ? ORDER BY c.created_at, c.id, m.account"
)
SET_TIMER = "UPDATE conversations SET timer_s = ? WHERE id = ?"
SHARES_CONVERSATION = (
    "SELECT 1 FROM members a JOIN members b ON b.conv = a.conv WHERE a.account = ? AND b.account = ? LIMIT 1"
)


def _conversations_from_rows(rows: Iterable[Row]) -> list[ConversationRecord]:
    """Rows are one per (conversation, member), grouped by conversation."""
    out: list[ConversationRecord] = []
    head: Row | None = None
    members: list[AccountId] = []
    for row in rows:
        if head is not None and row[0] != head[0]:
            out.append(_conversation(head, members))
            members = []
        head = row
        members.append(row[4])
    if head is not None:
        out.append(_conversation(head, members))
    return out


def _conversation(row: Row, members: list[AccountId]) -> ConversationRecord:
    return ConversationRecord(
        id=row[0],
        kind=ConversationKind(row[1]),
        members=tuple(members),
        timer_s=row[2],
        created_at=row[3],
    )


def get_conversation_txn(d: Dialect, conv: ConversationId) -> Txn[ConversationRecord | None]:
    rows = yield from all_rows(SELECT_CONVERSATION, conv)
    found = _conversations_from_rows(rows)
    return found[0] if found else None


def ensure_direct_txn(
    d: Dialect, conv: ConversationId, a: AccountId, b: AccountId, now: Timestamp
) -> Txn[ConversationRecord]:
    yield from count(INSERT_CONVERSATION, conv, ConversationKind.DIRECT.value, now)
    yield from many(INSERT_MEMBER, [(conv, a), (conv, b)])
    record = yield from get_conversation_txn(d, conv)
    assert record is not None, "the conversation was inserted in this transaction"
    return record


def list_conversations_txn(d: Dialect, account: AccountId) -> Txn[list[ConversationRecord]]:
    rows = yield from all_rows(LIST_CONVERSATIONS, account)
    return _conversations_from_rows(rows)


def set_timer_txn(d: Dialect, conv: ConversationId, timer_s: int) -> Txn[None]:
    yield from count(SET_TIMER, timer_s, conv)


def shares_conversation_txn(d: Dialect, a: AccountId, b: AccountId) -> Txn[bool]:
    row = yield from one(SHARES_CONVERSATION, a, b)
    return row is not None


class SqlConversationStore(SqlPart):
    """``service.ports.ConversationStore``: each method one transaction function above, run on ``_engine``."""

    async def ensure_direct(
        self, conv: ConversationId, a: AccountId, b: AccountId, *, now: Timestamp
    ) -> ConversationRecord:
        return await self._engine.write(ensure_direct_txn, conv, a, b, now)

    async def get_conversation(self, conv: ConversationId) -> ConversationRecord | None:
        return await self._engine.read(get_conversation_txn, conv)

    async def list_conversations(self, account: AccountId) -> list[ConversationRecord]:
        return await self._engine.read(list_conversations_txn, account)

    async def set_timer(self, conv: ConversationId, timer_s: int) -> None:
        await self._engine.write(set_timer_txn, conv, timer_s)

    async def shares_conversation(self, a: AccountId, b: AccountId) -> bool:
        return await self._engine.read(shares_conversation_txn, a, b)
