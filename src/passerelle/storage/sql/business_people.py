"""The people's side of the business store on SQL (docs/business.md sections 3, 5 and 8): per-business
person ids, the consent ledger, the window, the messaging limit's reach, the people a business
blocked, and erasure — shared queries and transaction functions (see ``storage.sql.txn``), run by
``SqlBusinessStore``."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.business.consent import ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import BusinessId, UserId, WabaId, WaId
from passerelle.domain.business.tiers import within_limit
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.records import BusinessPerson, ConsentRecord, ReachClaim, TemplateReach
from passerelle.storage.sql.business_quality import NOTE_TEMPLATE_REACH, forget_quality_of_txn
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

_PERSON = "business, account, wa_id, user_id, created_at"
INSERT_PERSON = f"INSERT INTO business_people ({_PERSON}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
SELECT_PERSON = f"SELECT {_PERSON} FROM business_people WHERE business = ? AND account = ?"
PERSON_BY_WA_ID = f"SELECT {_PERSON} FROM business_people WHERE business = ? AND wa_id = ?"
PERSON_BY_USER_ID = f"SELECT {_PERSON} FROM business_people WHERE business = ? AND user_id = ?"
_CONSENT = "account, business, scope, state, source, at"
SET_CONSENT = (
    f"INSERT INTO business_consents ({_CONSENT}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account, business, scope) DO UPDATE SET state = excluded.state, "
    "source = excluded.source, at = excluded.at"
)
ADD_LEDGER = f"INSERT INTO business_consent_ledger ({_CONSENT}) VALUES (?, ?, ?, ?, ?, ?)"
CONSENTS_OF = f"SELECT {_CONSENT} FROM business_consents WHERE account = ? ORDER BY business, scope"
LEDGER_OF = f"SELECT {_CONSENT} FROM business_consent_ledger WHERE account = ? ORDER BY id"
FORGET_PEOPLE = "DELETE FROM business_people WHERE account = ?"
FORGET_CONSENTS = "DELETE FROM business_consents WHERE account = ?"
FORGET_LEDGER = "DELETE FROM business_consent_ledger WHERE account = ?"
FORGET_INBOUND = "DELETE FROM business_windows WHERE account = ?"
FORGET_REACH = "DELETE FROM business_reach WHERE account = ?"
FORGET_HANDOFFS = "DELETE FROM business_handoffs WHERE account = ?"
NOTE_INBOUND = (
    "INSERT INTO business_windows (business, account, last_inbound_at) VALUES (?, ?, ?) "
    "ON CONFLICT (business, account) DO UPDATE SET last_inbound_at = excluded.last_inbound_at "
    "WHERE business_windows.last_inbound_at < excluded.last_inbound_at"
)
LAST_INBOUND = "SELECT last_inbound_at FROM business_windows WHERE business = ? AND account = ?"
NOTE_REACHED = (
    "INSERT INTO business_reach (waba, account, reached_at) VALUES (?, ?, ?) "
    "ON CONFLICT (waba, account) DO UPDATE SET reached_at = excluded.reached_at "
    "WHERE business_reach.reached_at < excluded.reached_at"
)
WAS_REACHED = "SELECT 1 FROM business_reach WHERE waba = ? AND account = ? AND reached_at >= ?"
REACHED_SINCE = "SELECT COUNT(*) FROM business_reach WHERE waba = ? AND reached_at >= ?"
REACHED_SINCE_AT_MOST = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM business_reach WHERE waba = ? AND reached_at >= ? LIMIT ?) AS r"
)
FORGET_REACH_BEFORE = "DELETE FROM business_reach WHERE reached_at < ?"
FORGET_BLOCKED = "DELETE FROM business_blocks WHERE account = ?"
BLOCK = "INSERT INTO business_blocks (business, account, blocked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
UNBLOCK = "DELETE FROM business_blocks WHERE business = ? AND account = ?"
IS_BLOCKED = "SELECT 1 FROM business_blocks WHERE business = ? AND account = ?"
BLOCKED = (
    "SELECT p.business, p.account, p.wa_id, p.user_id, p.created_at FROM business_blocks b "
    "JOIN business_people p ON p.business = b.business AND p.account = b.account "
    "WHERE b.business = ? ORDER BY b.blocked_at, b.account"
)
COUNT_BLOCKED = "SELECT COUNT(*) FROM business_blocks WHERE business = ?"


def _person(row: Row) -> BusinessPerson:
    return BusinessPerson(
        business=BusinessId(str(row[0])),
        account=AccountId(str(row[1])),
        wa_id=WaId(str(row[2])),
        user_id=UserId(str(row[3])),
        created_at=Timestamp(int(row[4])),
    )


def _consent(row: Row) -> ConsentRecord:
    return ConsentRecord(
        account=AccountId(str(row[0])),
        business=BusinessId(str(row[1])),
        scope=Scope(str(row[2])),
        state=ConsentState(str(row[3])),
        source=ConsentSource(str(row[4])),
        at=Timestamp(int(row[5])),
    )


def claim_person_txn(d: Dialect, p: BusinessPerson) -> Txn[BusinessPerson | None]:
    yield from count(INSERT_PERSON, p.business, p.account, p.wa_id, p.user_id, p.created_at)
    row = yield from one(SELECT_PERSON, p.business, p.account)
    return None if row is None else _person(row)


def person_txn(d: Dialect, sql: str, business: BusinessId, key: str) -> Txn[BusinessPerson | None]:
    row = yield from one(sql, business, key)
    return None if row is None else _person(row)


def record_consent_txn(d: Dialect, c: ConsentRecord) -> Txn[None]:
    values = (c.account, c.business, c.scope.value, c.state.value, c.source.value, c.at)
    yield from count(SET_CONSENT, *values)
    yield from count(ADD_LEDGER, *values)


def consents_txn(d: Dialect, sql: str, account: AccountId) -> Txn[list[ConsentRecord]]:
    rows = yield from all_rows(sql, account)
    return [_consent(r) for r in rows]


def forget_person_txn(d: Dialect, account: AccountId) -> Txn[None]:
    yield from count(FORGET_PEOPLE, account)
    yield from count(FORGET_CONSENTS, account)
    yield from count(FORGET_LEDGER, account)
    yield from count(FORGET_INBOUND, account)
    yield from count(FORGET_REACH, account)
    yield from count(FORGET_BLOCKED, account)
    yield from count(FORGET_HANDOFFS, account)
    yield from forget_quality_of_txn(d, account)


def unblock_txn(d: Dialect, business: BusinessId, account: AccountId) -> Txn[bool]:
    return (yield from count(UNBLOCK, business, account)) > 0


def is_blocked_txn(d: Dialect, business: BusinessId, account: AccountId) -> Txn[bool]:
    return (yield from one(IS_BLOCKED, business, account)) is not None


def blocked_txn(d: Dialect, business: BusinessId) -> Txn[list[BusinessPerson]]:
    rows = yield from all_rows(BLOCKED, business)
    return [_person(r) for r in rows]


def count_blocked_txn(d: Dialect, business: BusinessId) -> Txn[int]:
    row = yield from one(COUNT_BLOCKED, business)
    return 0 if row is None else int(row[0])


def note_txn(d: Dialect, sql: str, owner: str, account: AccountId, at: Timestamp) -> Txn[None]:
    yield from count(sql, owner, account, at)


def note_template_sent_txn(d: Dialect, r: TemplateReach, new_person: bool) -> Txn[None]:
    if new_person:
        yield from count(NOTE_REACHED, r.waba, r.account, r.at)
    yield from count(NOTE_TEMPLATE_REACH, r.number, r.template, r.account, r.waba, r.at)


LOCK_ACCOUNT = "SELECT 1 FROM business_accounts WHERE id = ? FOR UPDATE"


def note_templates_sent_txn(d: Dialect, claims: Sequence[ReachClaim]) -> Txn[list[bool]]:
    """``BusinessStore.note_templates_sent``: each business account's count is read once, after its
    row is locked (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), then kept."""
    counted: dict[str, int] = {}
    admitted: list[bool] = []
    for claim in claims:
        r = claim.reach
        known = yield from one(WAS_REACHED, r.waba, r.account, claim.since)
        if known is None:
            limit = claim.tier.limit
            if limit is not None:
                if r.waba not in counted:
                    if d.name == "postgres":
                        yield from one(LOCK_ACCOUNT, r.waba)
                    row = yield from one(REACHED_SINCE_AT_MOST, r.waba, claim.since, limit)
                    counted[r.waba] = 0 if row is None else int(row[0])
                if not within_limit(claim.tier, counted[r.waba]):
                    admitted.append(False)
                    continue
                counted[r.waba] += 1
            yield from count(NOTE_REACHED, r.waba, r.account, r.at)
        yield from count(NOTE_TEMPLATE_REACH, r.number, r.template, r.account, r.waba, r.at)
        admitted.append(True)
    return admitted


def last_inbound_txn(d: Dialect, business: BusinessId, account: AccountId) -> Txn[Timestamp | None]:
    row = yield from one(LAST_INBOUND, business, account)
    return None if row is None else Timestamp(int(row[0]))


def was_reached_txn(d: Dialect, waba: WabaId, account: AccountId, since: Timestamp) -> Txn[bool]:
    row = yield from one(WAS_REACHED, waba, account, since)
    return row is not None


def reached_since_txn(d: Dialect, waba: WabaId, since: Timestamp, at_most: int | None) -> Txn[int]:
    if at_most is None:
        row = yield from one(REACHED_SINCE, waba, since)
    else:
        row = yield from one(REACHED_SINCE_AT_MOST, waba, since, at_most)
    return 0 if row is None else int(row[0])


def forget_reach_before_txn(d: Dialect, before: Timestamp) -> Txn[int]:
    return (yield from count(FORGET_REACH_BEFORE, before))
