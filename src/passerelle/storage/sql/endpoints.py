"""Business endpoints on SQL (migration ``endpoints``): transaction functions (see
``storage.sql.txn``) and ``SqlEndpointStore``, the ``EndpointStore`` port on either engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, DeviceId, Timestamp
from passerelle.service.business.endpoint_ports import (
    EndpointMode,
    EndpointRecord,
    EndpointStore,
    EnrolmentRecord,
)
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

ADD_ENROLMENT = (
    "INSERT INTO business_enrolments (hash, business, mode, created_at, expires_at) "
    "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM businesses WHERE id = ?)"
)
TAKE_ENROLMENT = (
    "DELETE FROM business_enrolments WHERE hash = ? RETURNING business, mode, created_at, expires_at"
)
FORGET_EXPIRED_ENROLMENTS = "DELETE FROM business_enrolments WHERE expires_at < ?"
_ENDPOINT = "business, account, device, mode, statement, signature, enrolled_at"
SET_ENDPOINT = (
    f"INSERT INTO business_endpoints ({_ENDPOINT}) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (business) DO UPDATE SET account = excluded.account, device = excluded.device, "
    "mode = excluded.mode, statement = excluded.statement, signature = excluded.signature, "
    "enrolled_at = excluded.enrolled_at"
)
ENDPOINT_OF = f"SELECT {_ENDPOINT} FROM business_endpoints WHERE business = ?"
ENDPOINT_BY_ACCOUNT = f"SELECT {_ENDPOINT} FROM business_endpoints WHERE account = ?"
ALL_ENDPOINTS = f"SELECT {_ENDPOINT} FROM business_endpoints ORDER BY business"
SET_STATEMENT = "UPDATE business_endpoints SET statement = ?, signature = ? WHERE business = ? AND device = ?"


def _endpoint(row: Row) -> EndpointRecord:
    return EndpointRecord(
        business=BusinessId(str(row[0])),
        account=AccountId(str(row[1])),
        device=DeviceId(str(row[2])),
        mode=EndpointMode(str(row[3])),
        statement=str(row[4]),
        signature=str(row[5]),
        enrolled_at=Timestamp(int(row[6])),
    )


def add_enrolment_txn(d: Dialect, e: EnrolmentRecord, token_hash: str) -> Txn[bool]:
    added = yield from count(
        ADD_ENROLMENT, token_hash, e.business, e.mode.value, e.created_at, e.expires_at, e.business
    )
    return added > 0


def take_enrolment_txn(d: Dialect, token_hash: str, now: Timestamp) -> Txn[EnrolmentRecord | None]:
    yield from count(FORGET_EXPIRED_ENROLMENTS, now)
    row = yield from one(TAKE_ENROLMENT, token_hash)
    if row is None:
        return None
    return EnrolmentRecord(
        business=BusinessId(str(row[0])),
        mode=EndpointMode(str(row[1])),
        created_at=Timestamp(int(row[2])),
        expires_at=Timestamp(int(row[3])),
    )


def set_endpoint_txn(d: Dialect, e: EndpointRecord) -> Txn[None]:
    yield from count(
        SET_ENDPOINT, e.business, e.account, e.device, e.mode.value, e.statement, e.signature, e.enrolled_at
    )


def endpoint_of_txn(d: Dialect, business: BusinessId) -> Txn[EndpointRecord | None]:
    row = yield from one(ENDPOINT_OF, business)
    return None if row is None else _endpoint(row)


def endpoint_by_account_txn(d: Dialect, account: AccountId) -> Txn[EndpointRecord | None]:
    row = yield from one(ENDPOINT_BY_ACCOUNT, account)
    return None if row is None else _endpoint(row)


def set_statement_txn(
    d: Dialect, business: BusinessId, device: DeviceId, statement: str, signature: str
) -> Txn[bool]:
    return (yield from count(SET_STATEMENT, statement, signature, business, device)) > 0


def endpoints_txn(d: Dialect) -> Txn[list[EndpointRecord]]:
    return [_endpoint(r) for r in (yield from all_rows(ALL_ENDPOINTS))]


class SqlEndpointStore:
    """``EndpointStore`` on the engine of a ``SqliteStore`` or a ``PostgresStore``."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def add_enrolment(self, enrolment: EnrolmentRecord, *, token_hash: str) -> bool:
        return await self._engine.write(add_enrolment_txn, enrolment, token_hash)

    async def take_enrolment(self, token_hash: str, *, now: Timestamp) -> EnrolmentRecord | None:
        return await self._engine.write(take_enrolment_txn, token_hash, now)

    async def set_endpoint(self, endpoint: EndpointRecord) -> None:
        await self._engine.write(set_endpoint_txn, endpoint)

    async def endpoint_of(self, business: BusinessId) -> EndpointRecord | None:
        return await self._engine.read(endpoint_of_txn, business)

    async def endpoint_by_account(self, account: AccountId) -> EndpointRecord | None:
        return await self._engine.read(endpoint_by_account_txn, account)

    async def set_statement(
        self, business: BusinessId, device: DeviceId, *, statement: str, signature: str
    ) -> bool:
        return await self._engine.write(set_statement_txn, business, device, statement, signature)

    async def endpoints(self) -> list[EndpointRecord]:
        return await self._engine.read(endpoints_txn)


_: type[EndpointStore] = SqlEndpointStore
