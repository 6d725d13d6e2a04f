"""Contacts, blocks, member states of direct conversations, privacy settings and reports: shared SQL
and transaction functions (see ``storage.sql.txn``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId, MessageId, Timestamp
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.privacy.records import (
    PrivacySettings,
    Relation,
    ReportedMessage,
    ReportRecord,
    RequestRecord,
)
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, many, one

_PAIR = "(({a} = ? AND {b} = ?) OR ({a} = ? AND {b} = ?))"
PAIR_BLOCKS = "SELECT blocker, blocked FROM blocks WHERE " + _PAIR.replace("{a}", "blocker").replace(
    "{b}", "blocked"
)
PAIR_CONTACTS = "SELECT owner, contact FROM contacts WHERE " + _PAIR.replace("{a}", "owner").replace(
    "{b}", "contact"
)
CONV_STATES = "SELECT account, state FROM member_states WHERE conv = ?"
PAIR_MESSAGE_FROM = (
    "SELECT account, message_from FROM privacy_settings "
    "WHERE (account = ? OR account = ?) AND message_from <> 'everyone'"
)

INSERT_STATE = (
    "INSERT INTO member_states (conv, account, state, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
UPSERT_STATE = (
    "INSERT INTO member_states (conv, account, state, since) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (conv, account) DO UPDATE SET state = excluded.state, since = excluded.since"
)
SELECT_STATE = "SELECT state FROM member_states WHERE conv = ? AND account = ?"
LIST_REQUESTS = (
    "SELECT s.conv, m.account, s.state, s.since FROM member_states s "
    "JOIN conversations c ON c.id = s.conv AND c.kind = 'direct' "
    "JOIN members m ON m.conv = s.conv AND m.account <> s.account "
    "WHERE s.account = ? AND s.state = ? ORDER BY s.since, s.conv"
)
DELETE_PENDING_FROM = (
    "DELETE FROM mailbox WHERE conv = ? AND sender = ? "
    "AND device IN (SELECT id FROM devices WHERE account = ?)"
)

INSERT_CONTACT = "INSERT INTO contacts (owner, contact, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
DELETE_CONTACT = "DELETE FROM contacts WHERE owner = ? AND contact = ?"
LIST_CONTACTS = "SELECT contact, created_at FROM contacts WHERE owner = ? ORDER BY created_at, contact"
INSERT_BLOCK = "INSERT INTO blocks (blocker, blocked, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
DELETE_BLOCK = "DELETE FROM blocks WHERE blocker = ? AND blocked = ?"
LIST_BLOCKS = "SELECT blocked, created_at FROM blocks WHERE blocker = ? ORDER BY created_at, blocked"

SELECT_PRIVACY = "SELECT message_from, last_seen, last_seen_at FROM privacy_settings WHERE account = ?"
UPSERT_PRIVACY = (
    "INSERT INTO privacy_settings (account, message_from, last_seen) VALUES (?, ?, ?) "
    "ON CONFLICT (account) DO UPDATE SET message_from = excluded.message_from, "
    "last_seen = excluded.last_seen"
)
# An account erased meanwhile gets no row (and no foreign-key error).
UPSERT_LAST_SEEN = (
    "INSERT INTO privacy_settings (account, last_seen_at) SELECT ?, ? "
    "WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?) "
    "ON CONFLICT (account) DO UPDATE SET last_seen_at = excluded.last_seen_at"
)

_REPORT_COLUMNS = "id, reporter, reported, conv, reason, created_at, messages"
INSERT_REPORT = f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
LIST_REPORTS = f"SELECT {_REPORT_COLUMNS} FROM reports ORDER BY created_at DESC, id DESC LIMIT ?"
LIST_REPORTS_BEFORE = (
    f"SELECT {_REPORT_COLUMNS} FROM reports WHERE created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?"
)
REPORTS_BY = f"SELECT {_REPORT_COLUMNS} FROM reports WHERE reporter = ? ORDER BY created_at, id"


# --- the facts the rules need ---------------------------------------------------------------------


def pair_facts_txn(d: Dialect, a: AccountId, b: AccountId) -> Txn[PairFacts]:
    pair = (a, b, b, a)
    blocks = yield from all_rows(PAIR_BLOCKS, *pair)
    contacts = yield from all_rows(PAIR_CONTACTS, *pair)
    states = yield from all_rows(CONV_STATES, direct_conversation_id(a, b))
    settings = yield from all_rows(PAIR_MESSAGE_FROM, a, b)
    return PairFacts(
        blocks=frozenset((r[0], r[1]) for r in blocks),
        contacts=frozenset((r[0], r[1]) for r in contacts),
        states={r[0]: MemberState(r[1]) for r in states},
        message_from={r[0]: MessageFrom(r[1]) for r in settings},
    )


# --- member states ----------------------------------------------------------------------------------


def decide_state_txn(
    d: Dialect, conv: ConversationId, account: AccountId, state: MemberState, now: Timestamp
) -> Txn[MemberState]:
    yield from count(INSERT_STATE, conv, account, state.value, now)
    row = yield from one(SELECT_STATE, conv, account)
    return state if row is None else MemberState(row[0])


def accept_txn(
    d: Dialect, conv: ConversationId, account: AccountId, other: AccountId, now: Timestamp
) -> Txn[None]:
    yield from count(UPSERT_STATE, conv, account, MemberState.ACCEPTED.value, now)
    yield from count(INSERT_CONTACT, account, other, now)


def decline_txn(
    d: Dialect, conv: ConversationId, account: AccountId, other: AccountId, block: bool, now: Timestamp
) -> Txn[int]:
    yield from count(UPSERT_STATE, conv, account, MemberState.DECLINED.value, now)
    if block:
        yield from count(INSERT_BLOCK, account, other, now)
    deleted = yield from count(DELETE_PENDING_FROM, conv, other, account)
    return deleted


def list_requests_txn(d: Dialect, account: AccountId, state: MemberState) -> Txn[list[RequestRecord]]:
    rows = yield from all_rows(LIST_REQUESTS, account, state.value)
    return [RequestRecord(conv=r[0], sender=r[1], state=MemberState(r[2]), since=r[3]) for r in rows]


# --- contacts and blocks ------------------------------------------------------------------------------


def add_contact_txn(d: Dialect, owner: AccountId, contact: AccountId, now: Timestamp) -> Txn[None]:
    yield from count(INSERT_CONTACT, owner, contact, now)


def remove_contact_txn(d: Dialect, owner: AccountId, contact: AccountId) -> Txn[bool]:
    removed = yield from count(DELETE_CONTACT, owner, contact)
    return removed > 0


def list_contacts_txn(d: Dialect, owner: AccountId) -> Txn[list[Relation]]:
    rows = yield from all_rows(LIST_CONTACTS, owner)
    return [Relation(account=r[0], since=r[1]) for r in rows]


def block_txn(d: Dialect, blocker: AccountId, blocked: AccountId, now: Timestamp) -> Txn[None]:
    yield from count(INSERT_BLOCK, blocker, blocked, now)


def unblock_txn(d: Dialect, blocker: AccountId, blocked: AccountId) -> Txn[bool]:
    removed = yield from count(DELETE_BLOCK, blocker, blocked)
    return removed > 0


def list_blocks_txn(d: Dialect, blocker: AccountId) -> Txn[list[Relation]]:
    rows = yield from all_rows(LIST_BLOCKS, blocker)
    return [Relation(account=r[0], since=r[1]) for r in rows]


# --- settings -------------------------------------------------------------------------------------------


def get_privacy_txn(d: Dialect, account: AccountId) -> Txn[PrivacySettings]:
    row = yield from one(SELECT_PRIVACY, account)
    if row is None:
        return PrivacySettings()
    return PrivacySettings(
        message_from=MessageFrom(row[0]), last_seen=LastSeenVisibility(row[1]), last_seen_at=row[2]
    )


def set_privacy_txn(
    d: Dialect, account: AccountId, message_from: MessageFrom, last_seen: LastSeenVisibility
) -> Txn[None]:
    yield from count(UPSERT_PRIVACY, account, message_from.value, last_seen.value)


def record_last_seen_txn(d: Dialect, seen: Sequence[tuple[AccountId, Timestamp]]) -> Txn[None]:
    yield from many(UPSERT_LAST_SEEN, [(account, ts, account) for account, ts in seen])


# --- reports ------------------------------------------------------------------------------------------


def _messages_json(messages: Sequence[ReportedMessage]) -> str:
    return json.dumps(
        [{"mid": m.mid, "id": m.client_id, "sender": m.sender, "ts": m.ts, "text": m.text} for m in messages],
        ensure_ascii=False,
    )


def report_from_row(row: Row) -> ReportRecord:
    messages = tuple(
        ReportedMessage(
            mid=None if m["mid"] is None else MessageId(int(m["mid"])),
            client_id=str(m["id"]),
            sender=AccountId(str(m["sender"])),
            ts=Timestamp(int(m["ts"])),
            text=str(m["text"]),
        )
        for m in json.loads(row[6])
    )
    return ReportRecord(
        id=row[0],
        reporter=row[1],
        reported=row[2],
        conv=row[3],
        reason=row[4],
        created_at=row[5],
        messages=messages,
    )


def add_report_txn(d: Dialect, report: ReportRecord) -> Txn[None]:
    yield from count(
        INSERT_REPORT,
        report.id,
        report.reporter,
        report.reported,
        report.conv,
        report.reason,
        report.created_at,
        _messages_json(report.messages),
    )


def list_reports_txn(d: Dialect, limit: int, before: Timestamp | None) -> Txn[list[ReportRecord]]:
    if before is None:
        rows = yield from all_rows(LIST_REPORTS, limit)
    else:
        rows = yield from all_rows(LIST_REPORTS_BEFORE, before, limit)
    return [report_from_row(r) for r in rows]


def reports_by_txn(d: Dialect, reporter: AccountId) -> Txn[list[ReportRecord]]:
    rows = yield from all_rows(REPORTS_BY, reporter)
    return [report_from_row(r) for r in rows]
