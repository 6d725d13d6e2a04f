"""Quality and tiers on SQL (docs/business.md section 5): whom each template reached from which
number, negative signals, numbers' ratings and business accounts' tier evaluations — shared queries
and transaction functions (see ``storage.sql.txn``), run by ``SqlBusinessStore``."""

from __future__ import annotations

from passerelle.domain.business.ids import PhoneNumberId, TemplateId, WabaId
from passerelle.domain.business.quality import Quality, SignalKind, Signals
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.records import Evaluation, QualityCounts, SignalRecord, TemplateReach
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Txn, all_rows, count, one

NOTE_TEMPLATE_REACH = (
    "INSERT INTO business_template_reach (number, template, account, waba, reached_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (number, template, account) DO UPDATE SET "
    "reached_at = excluded.reached_at WHERE business_template_reach.reached_at < excluded.reached_at"
)
LAST_TEMPLATE_REACH = (
    "SELECT number, template, reached_at FROM business_template_reach "
    "WHERE account = ? AND waba = ? AND reached_at >= ? ORDER BY reached_at DESC, number, template LIMIT 1"
)
RECORD_SIGNAL = (
    "INSERT INTO business_signals (waba, account, kind, number, template, at, reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (waba, account, kind) DO UPDATE SET number = excluded.number, "
    "template = excluded.template, at = excluded.at, reason = excluded.reason"
)
LIST_SIGNALS = (
    "SELECT waba, account, kind, number, template, at, reason FROM business_signals "
    "WHERE waba = ? ORDER BY at DESC, account, kind LIMIT ?"
)
REACH_BY_NUMBER = (
    "SELECT number, COUNT(DISTINCT account) FROM business_template_reach "
    "WHERE waba = ? AND reached_at >= ? GROUP BY number"
)
REACH_BY_TEMPLATE = (
    "SELECT template, COUNT(DISTINCT account) FROM business_template_reach "
    "WHERE waba = ? AND reached_at >= ? GROUP BY template"
)
SIGNALS = (
    "SELECT number, template, kind, COUNT(*) FROM business_signals WHERE waba = ? AND at >= ? "
    "GROUP BY number, template, kind"
)
TEMPLATE_REACH = (
    "SELECT COUNT(DISTINCT account) FROM business_template_reach "
    "WHERE waba = ? AND template = ? AND reached_at >= ?"
)
TEMPLATE_SIGNALS = (
    "SELECT kind, COUNT(*) FROM business_signals WHERE waba = ? AND template = ? AND at >= ? GROUP BY kind"
)
SET_NUMBER_QUALITY = "UPDATE business_numbers SET quality = ? WHERE id = ?"
GET_EVALUATION = "SELECT red_streak, evaluated_at FROM business_evaluations WHERE waba = ?"
FIRST_EVALUATION = (
    "INSERT INTO business_evaluations (waba, red_streak, evaluated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (waba) DO NOTHING"
)
NEXT_EVALUATION = (
    "UPDATE business_evaluations SET red_streak = ?, evaluated_at = ? WHERE waba = ? AND evaluated_at = ?"
)
SET_TIER = "UPDATE business_accounts SET tier = ? WHERE id = ?"
FORGET_TEMPLATE_REACH_BEFORE = "DELETE FROM business_template_reach WHERE reached_at < ?"
FORGET_SIGNALS_BEFORE = "DELETE FROM business_signals WHERE at < ?"
FORGET_TEMPLATE_REACH_OF = "DELETE FROM business_template_reach WHERE account = ?"
FORGET_SIGNALS_OF = "DELETE FROM business_signals WHERE account = ?"


def note_template_reach_txn(d: Dialect, r: TemplateReach) -> Txn[None]:
    yield from count(NOTE_TEMPLATE_REACH, r.number, r.template, r.account, r.waba, r.at)


def last_template_reach_txn(
    d: Dialect, waba: WabaId, account: AccountId, since: Timestamp
) -> Txn[TemplateReach | None]:
    row = yield from one(LAST_TEMPLATE_REACH, account, waba, since)
    if row is None:
        return None
    return TemplateReach(
        waba=waba,
        number=PhoneNumberId(str(row[0])),
        template=TemplateId(str(row[1])),
        account=account,
        at=Timestamp(int(row[2])),
    )


def record_signal_txn(d: Dialect, s: SignalRecord) -> Txn[None]:
    yield from count(RECORD_SIGNAL, s.waba, s.account, s.kind.value, s.number, s.template, s.at, s.reason)


def list_signals_txn(d: Dialect, waba: WabaId, limit: int) -> Txn[list[SignalRecord]]:
    rows = yield from all_rows(LIST_SIGNALS, waba, limit)
    return [
        SignalRecord(
            waba=WabaId(str(r[0])),
            account=AccountId(str(r[1])),
            kind=SignalKind(str(r[2])),
            number=str(r[3]),
            template=str(r[4]),
            at=Timestamp(int(r[5])),
            reason=str(r[6]),
        )
        for r in rows
    ]


def quality_counts_txn(d: Dialect, waba: WabaId, since: Timestamp) -> Txn[QualityCounts]:
    numbers = yield from all_rows(REACH_BY_NUMBER, waba, since)
    templates = yield from all_rows(REACH_BY_TEMPLATE, waba, since)
    signals = yield from all_rows(SIGNALS, waba, since)
    return QualityCounts(
        reached_by_number={str(r[0]): int(r[1]) for r in numbers},
        reached_by_template={str(r[0]): int(r[1]) for r in templates},
        signals={(str(r[0]), str(r[1]), SignalKind(str(r[2]))): int(r[3]) for r in signals},
    )


def template_signals_txn(d: Dialect, waba: WabaId, template: TemplateId, since: Timestamp) -> Txn[Signals]:
    reached = yield from one(TEMPLATE_REACH, waba, template, since)
    rows = yield from all_rows(TEMPLATE_SIGNALS, waba, template, since)
    return Signals.counted(
        0 if reached is None else int(reached[0]), {SignalKind(str(r[0])): int(r[1]) for r in rows}
    )


def set_number_quality_txn(d: Dialect, number: PhoneNumberId, quality: Quality) -> Txn[None]:
    yield from count(SET_NUMBER_QUALITY, quality.value, number)


def evaluation_txn(d: Dialect, waba: WabaId) -> Txn[Evaluation | None]:
    row = yield from one(GET_EVALUATION, waba)
    if row is None:
        return None
    return Evaluation(waba=waba, red_streak=int(row[0]), evaluated_at=Timestamp(int(row[1])))


def save_evaluation_txn(d: Dialect, e: Evaluation, tier: Tier, expected_at: Timestamp | None) -> Txn[bool]:
    if expected_at is None:
        changed = yield from count(FIRST_EVALUATION, e.waba, e.red_streak, e.evaluated_at)
    else:
        changed = yield from count(NEXT_EVALUATION, e.red_streak, e.evaluated_at, e.waba, expected_at)
    if changed == 0:
        return False
    yield from count(SET_TIER, int(tier), e.waba)
    return True


def forget_quality_before_txn(d: Dialect, before: Timestamp) -> Txn[int]:
    reach = yield from count(FORGET_TEMPLATE_REACH_BEFORE, before)
    signals = yield from count(FORGET_SIGNALS_BEFORE, before)
    return reach + signals


def forget_quality_of_txn(d: Dialect, account: AccountId) -> Txn[None]:
    yield from count(FORGET_TEMPLATE_REACH_OF, account)
    yield from count(FORGET_SIGNALS_OF, account)
