"""Account links on SQL (migration ``0016_links``): transaction functions and ``SqlLinkStore``,
the ``LinkStore`` port on either engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.links.ports import LinkGroup, LinkStore
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

DROP_REQUEST_OF = "DELETE FROM link_requests WHERE account = ?"
PUT_REQUEST = "INSERT INTO link_requests (code_hash, account, expires_at) VALUES (?, ?, ?)"
TAKE_REQUEST = "DELETE FROM link_requests WHERE code_hash = ? RETURNING account, expires_at"
PERSON_OF = "SELECT person FROM account_links WHERE account = ?"
MEMBERS = "SELECT account FROM account_links WHERE person = ? ORDER BY linked_at, account"
ADD = "INSERT INTO account_links (account, person, linked_at) VALUES (?, ?, ?)"
MOVE = "UPDATE account_links SET person = ? WHERE person = ?"
MOVE_SHARES = (
    "INSERT INTO identity_shares (person, business, created_at) "
    "SELECT ?, business, created_at FROM identity_shares WHERE person = ? ON CONFLICT DO NOTHING"
)
DROP = "DELETE FROM account_links WHERE account = ?"
DROP_GROUP = "DELETE FROM account_links WHERE person = ?"
DROP_SHARES = "DELETE FROM identity_shares WHERE person = ?"
SHARE = (
    "INSERT INTO identity_shares (person, business, created_at) SELECT ?, ?, ? "
    "WHERE EXISTS (SELECT 1 FROM businesses WHERE id = ?) ON CONFLICT DO NOTHING"
)
UNSHARE = "DELETE FROM identity_shares WHERE person = ? AND business = ?"
BUSINESS = "SELECT 1 FROM businesses WHERE id = ?"
SHARES = "SELECT business FROM identity_shares WHERE person = ? ORDER BY business"


def put_link_request_txn(d: Dialect, account: AccountId, code_hash: str, expires_at: Timestamp) -> Txn[None]:
    yield from count(DROP_REQUEST_OF, account)
    yield from count(PUT_REQUEST, code_hash, account, expires_at)


def take_link_request_txn(d: Dialect, code_hash: str, now: Timestamp) -> Txn[AccountId | None]:
    row = yield from one(TAKE_REQUEST, code_hash)
    if row is None or int(row[1]) <= now:
        return None
    return AccountId(str(row[0]))


def link_group_txn(d: Dialect, account: AccountId) -> Txn[LinkGroup | None]:
    row = yield from one(PERSON_OF, account)
    if row is None:
        return None
    person = str(row[0])
    members = yield from all_rows(MEMBERS, person)
    return LinkGroup(person=person, accounts=tuple(AccountId(str(m[0])) for m in members))


def link_accounts_txn(
    d: Dialect, a: AccountId, b: AccountId, person: str, at: Timestamp, cap: int
) -> Txn[LinkGroup | None]:
    first = yield from link_group_txn(d, a)
    second = yield from link_group_txn(d, b)
    if first is not None and second is not None and first.person == second.person:
        return first
    total = (1 if first is None else len(first.accounts)) + (1 if second is None else len(second.accounts))
    if total > cap:
        return None
    into = first.person if first is not None else second.person if second is not None else person
    if first is None:
        yield from count(ADD, a, into, at)
    if second is None:
        yield from count(ADD, b, into, at)
    elif second.person != into:
        yield from count(MOVE_SHARES, into, second.person)
        yield from count(DROP_SHARES, second.person)
        yield from count(MOVE, into, second.person)
    return (yield from link_group_txn(d, a))


def unlink_account_txn(d: Dialect, account: AccountId) -> Txn[bool]:
    group = yield from link_group_txn(d, account)
    if group is None:
        return False
    yield from count(DROP, account)
    if len(group.accounts) <= 2:
        yield from count(DROP_GROUP, group.person)
        yield from count(DROP_SHARES, group.person)
    return True


def set_share_txn(d: Dialect, person: str, business: BusinessId, shared: bool, at: Timestamp) -> Txn[bool]:
    if (yield from one(BUSINESS, business)) is None:
        return False
    if shared:
        yield from count(SHARE, person, business, at, business)
    else:
        yield from count(UNSHARE, person, business)
    return True


def shares_of_txn(d: Dialect, person: str) -> Txn[list[BusinessId]]:
    return [BusinessId(str(r[0])) for r in (yield from all_rows(SHARES, person))]


def forget_links_of_txn(d: Dialect, account: AccountId) -> Txn[None]:
    yield from count(DROP_REQUEST_OF, account)
    yield from unlink_account_txn(d, account)


class SqlLinkStore:
    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def put_link_request(self, account: AccountId, code_hash: str, expires_at: Timestamp) -> None:
        await self._engine.write(put_link_request_txn, account, code_hash, expires_at)

    async def take_link_request(self, code_hash: str, now: Timestamp) -> AccountId | None:
        return await self._engine.write(take_link_request_txn, code_hash, now)

    async def link_accounts(
        self, a: AccountId, b: AccountId, person: str, at: Timestamp, *, cap: int
    ) -> LinkGroup | None:
        return await self._engine.write(link_accounts_txn, a, b, person, at, cap)

    async def link_group(self, account: AccountId) -> LinkGroup | None:
        return await self._engine.read(link_group_txn, account)

    async def unlink_account(self, account: AccountId) -> bool:
        return await self._engine.write(unlink_account_txn, account)

    async def set_share(self, person: str, business: BusinessId, shared: bool, at: Timestamp) -> bool:
        return await self._engine.write(set_share_txn, person, business, shared, at)

    async def shares_of(self, person: str) -> list[BusinessId]:
        return await self._engine.read(shares_of_txn, person)

    async def forget_links_of(self, account: AccountId) -> None:
        await self._engine.write(forget_links_of_txn, account)


def _implements_the_port(store: SqlLinkStore) -> LinkStore:
    return store
