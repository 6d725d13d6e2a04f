"""Hand-offs on SQL (migration ``0012_handoff``): transaction functions (see ``storage.sql.txn``)
and ``SqlHandOffStore``, the ``HandOffStore`` port on either engine."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.handoff_ports import NEXT, HandOffRecord, HandOffStatus, HandOffStore
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

_COLUMNS = "id, business, number, account, user_id, summary, reason, status, agent, created_at, updated_at"
ACTIVE_OF = f"SELECT {_COLUMNS} FROM business_handoffs WHERE business = ? AND account = ? AND active = 1"
COUNT_ACTIVE = "SELECT COUNT(*) FROM business_handoffs WHERE business = ? AND active = 1"
INSERT = (
    f"INSERT INTO business_handoffs ({_COLUMNS}, active) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1 "
    "WHERE EXISTS (SELECT 1 FROM businesses WHERE id = ?) ON CONFLICT DO NOTHING"
)
GET = f"SELECT {_COLUMNS} FROM business_handoffs WHERE business = ? AND id = ?"
ACTIVE = f"SELECT {_COLUMNS} FROM business_handoffs WHERE business = ? AND active = 1 ORDER BY created_at, id LIMIT ?"
MOVE = "UPDATE business_handoffs SET status = ?, agent = ?, updated_at = ?, active = ? WHERE id = ? AND status = ?"
FORGET_OF = "DELETE FROM business_handoffs WHERE account = ?"
FORGET_BEFORE = "DELETE FROM business_handoffs WHERE active IS NULL AND updated_at < ?"


def _record(row: Row) -> HandOffRecord:
    return HandOffRecord(
        id=str(row[0]),
        business=BusinessId(str(row[1])),
        number=str(row[2]),
        account=AccountId(str(row[3])),
        user_id=str(row[4]),
        summary=str(row[5]),
        reason=str(row[6]),
        status=HandOffStatus(str(row[7])),
        agent=str(row[8]),
        created_at=Timestamp(int(row[9])),
        updated_at=Timestamp(int(row[10])),
    )


def open_handoff_txn(d: Dialect, r: HandOffRecord, cap: int) -> Txn[tuple[HandOffRecord, bool] | None]:
    found = yield from one(ACTIVE_OF, r.business, r.account)
    if found is not None:
        return _record(found), False
    active = yield from one(COUNT_ACTIVE, r.business)
    if active is not None and int(active[0]) >= cap:
        return None
    made = yield from count(
        INSERT,
        r.id,
        r.business,
        r.number,
        r.account,
        r.user_id,
        r.summary,
        r.reason,
        r.status.value,
        r.agent,
        r.created_at,
        r.updated_at,
        r.business,
    )
    if made == 0:  # no such business, or another node opened one for the person just now
        again = yield from one(ACTIVE_OF, r.business, r.account)
        return None if again is None else (_record(again), False)
    return r, True


def get_handoff_txn(d: Dialect, business: BusinessId, handoff: str) -> Txn[HandOffRecord | None]:
    row = yield from one(GET, business, handoff)
    return None if row is None else _record(row)


def active_handoffs_txn(d: Dialect, business: BusinessId, limit: int) -> Txn[list[HandOffRecord]]:
    return [_record(r) for r in (yield from all_rows(ACTIVE, business, limit))]


def move_handoff_txn(
    d: Dialect, business: BusinessId, handoff: str, to: HandOffStatus, agent: str, at: Timestamp
) -> Txn[HandOffRecord | None]:
    found = yield from get_handoff_txn(d, business, handoff)
    if found is None or found.status not in NEXT[to]:
        return None
    moved = replace(
        found, status=to, agent=agent or found.agent, updated_at=Timestamp(max(at, found.updated_at))
    )
    active = 1 if moved.active else None
    changed = yield from count(
        MOVE, to.value, moved.agent, moved.updated_at, active, handoff, found.status.value
    )
    return moved if changed else None


def forget_handoffs_of_txn(d: Dialect, account: AccountId) -> Txn[None]:
    yield from count(FORGET_OF, account)


def forget_handoffs_before_txn(d: Dialect, before: Timestamp) -> Txn[int]:
    return (yield from count(FORGET_BEFORE, before))


class SqlHandOffStore:
    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def open_handoff(self, record: HandOffRecord, *, cap: int) -> tuple[HandOffRecord, bool] | None:
        return await self._engine.write(open_handoff_txn, record, cap)

    async def get_handoff(self, business: BusinessId, handoff: str) -> HandOffRecord | None:
        return await self._engine.read(get_handoff_txn, business, handoff)

    async def active_handoffs(self, business: BusinessId, *, limit: int) -> list[HandOffRecord]:
        return await self._engine.read(active_handoffs_txn, business, limit)

    async def move_handoff(
        self, business: BusinessId, handoff: str, to: HandOffStatus, *, agent: str, at: Timestamp
    ) -> HandOffRecord | None:
        return await self._engine.write(move_handoff_txn, business, handoff, to, agent, at)

    async def forget_handoffs_of(self, account: AccountId) -> None:
        await self._engine.write(forget_handoffs_of_txn, account)

    async def forget_handoffs_before(self, before: Timestamp) -> int:
        return await self._engine.write(forget_handoffs_before_txn, before)


def _implements_the_port(store: SqlHandOffStore) -> HandOffStore:
    return store  # mypy checks here that SqlHandOffStore is a HandOffStore
