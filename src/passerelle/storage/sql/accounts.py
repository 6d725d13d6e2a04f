"""Accounts and devices: shared SQL and transaction functions (see ``storage.sql.txn``), and
``SqlAccountStore`` and ``SqlDeviceStore``, their parts of ``SqlStore``."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.errors import AliasTaken
from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.service.records import AccountRecord, DeviceRecord
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

_ACCOUNT_COLUMNS = "id, app, alias, display_name, password_hash, findability, read_receipts, created_at"
_DEVICE_COLUMNS = "id, account, name, curve25519, ed25519, signature, created_at"

INSERT_ACCOUNT = (
    f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (app, alias) DO NOTHING RETURNING id"
)
SELECT_ACCOUNT = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"
FIND_ACCOUNT = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE app = ? AND alias = ?"
UPDATE_SETTINGS = "UPDATE accounts SET findability = ?, read_receipts = ? WHERE id = ?"

INSERT_DEVICE = f"INSERT INTO devices ({_DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_TOKEN = "INSERT INTO tokens (hash, device, expires_at) VALUES (?, ?, ?)"
SELECT_DEVICE = f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?"
SELECT_DEVICE_AND_ACCOUNT = (
    "SELECT d.id, d.account, d.name, d.curve25519, d.ed25519, d.signature, d.created_at, "
    "a.id, a.app, a.alias, a.display_name, a.password_hash, a.findability, a.read_receipts, a.created_at "
    "FROM devices d JOIN accounts a ON a.id = d.account WHERE d.id = ?"
)
LIST_DEVICES = f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE account = ? ORDER BY created_at, id"
LIST_DEVICES_OF = "SELECT account, id FROM devices WHERE account {in_texts} ORDER BY account, created_at, id"
# The device row goes first: on PostgreSQL its delete waits for an append holding the device's
# counter, so the mailbox delete that follows sees that append's items too.
DELETE_DEVICE = "DELETE FROM devices WHERE id = ?"
DELETE_DEVICE_MAILBOX = "DELETE FROM mailbox WHERE device = ?"


def account_from_row(row: Row) -> AccountRecord:
    findability = row[5]
    return AccountRecord(
        id=row[0],
        app=row[1],
        alias=row[2],
        display_name=row[3],
        password_hash=row[4],
        findability=None if findability is None else Findability(findability),
        read_receipts=bool(row[6]),
        created_at=row[7],
    )


def device_from_row(row: Row) -> DeviceRecord:
    return DeviceRecord(
        id=row[0],
        account=row[1],
        name=row[2],
        curve25519=row[3],
        ed25519=row[4],
        signature=row[5],
        created_at=row[6],
    )


def _device_args(device: DeviceRecord) -> tuple[object, ...]:
    return (
        device.id,
        device.account,
        device.name,
        device.curve25519,
        device.ed25519,
        device.signature,
        device.created_at,
    )


def create_account_txn(
    d: Dialect, account: AccountRecord, device: DeviceRecord, token_hash: str, token_expires: Timestamp
) -> Txn[None]:
    created = yield from one(
        INSERT_ACCOUNT,
        account.id,
        account.app,
        account.alias,
        account.display_name,
        account.password_hash,
        None if account.findability is None else account.findability.value,
        account.read_receipts,
        account.created_at,
    )
    if created is None:
        raise AliasTaken(f"{account.alias!r} is already taken in {account.app}")
    yield from count(INSERT_DEVICE, *_device_args(device))
    yield from count(INSERT_TOKEN, token_hash, device.id, token_expires)


def get_account_txn(d: Dialect, account: AccountId) -> Txn[AccountRecord | None]:
    row = yield from one(SELECT_ACCOUNT, account)
    return None if row is None else account_from_row(row)


def find_account_txn(d: Dialect, app: AppName, alias: str) -> Txn[AccountRecord | None]:
    row = yield from one(FIND_ACCOUNT, app, alias)
    return None if row is None else account_from_row(row)


def update_settings_txn(
    d: Dialect, account: AccountId, findability: Findability | None, read_receipts: bool
) -> Txn[None]:
    value = None if findability is None else findability.value
    yield from count(UPDATE_SETTINGS, value, read_receipts, account)


def add_device_txn(d: Dialect, device: DeviceRecord, token_hash: str, token_expires: Timestamp) -> Txn[None]:
    yield from count(INSERT_DEVICE, *_device_args(device))
    yield from count(INSERT_TOKEN, token_hash, device.id, token_expires)


def get_device_txn(d: Dialect, device: DeviceId) -> Txn[DeviceRecord | None]:
    row = yield from one(SELECT_DEVICE, device)
    return None if row is None else device_from_row(row)


def get_device_and_account_txn(
    d: Dialect, device: DeviceId
) -> Txn[tuple[DeviceRecord, AccountRecord] | None]:
    row = yield from one(SELECT_DEVICE_AND_ACCOUNT, device)
    if row is None:
        return None
    values = tuple(row)  # a row may not slice (asyncpg's Record)
    return device_from_row(values[:7]), account_from_row(values[7:])


def list_devices_txn(d: Dialect, account: AccountId) -> Txn[list[DeviceRecord]]:
    rows = yield from all_rows(LIST_DEVICES, account)
    return [device_from_row(row) for row in rows]


def list_devices_of_txn(d: Dialect, accounts: Sequence[AccountId]) -> Txn[dict[AccountId, list[DeviceId]]]:
    result: dict[AccountId, list[DeviceId]] = {a: [] for a in accounts}
    if not result:
        return result
    rows = yield from all_rows(LIST_DEVICES_OF, d.texts(list(result)))
    for account, device in rows:
        result[account].append(device)
    return result


def remove_device_txn(d: Dialect, device: DeviceId) -> Txn[bool]:
    """Tokens, challenges and keys go with the device row (ON DELETE CASCADE); the mailbox is
    deleted explicitly because it carries no foreign key."""
    removed = yield from count(DELETE_DEVICE, device)
    yield from count(DELETE_DEVICE_MAILBOX, device)
    return removed > 0


class SqlAccountStore(SqlPart):
    """``service.ports.AccountStore``: each method one transaction function above, run on ``_engine``."""

    async def create_account(
        self, account: AccountRecord, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None:
        await self._engine.write(create_account_txn, account, device, token_hash, token_expires)

    async def get_account(self, account: AccountId) -> AccountRecord | None:
        return await self._engine.read(get_account_txn, account)

    async def find_account(self, app: AppName, alias: str) -> AccountRecord | None:
        return await self._engine.read(find_account_txn, app, alias)

    async def update_settings(
        self, account: AccountId, *, findability: Findability | None, read_receipts: bool
    ) -> None:
        await self._engine.write(update_settings_txn, account, findability, read_receipts)


class SqlDeviceStore(SqlPart):
    """``service.ports.DeviceStore``: each method one transaction function above, run on ``_engine``."""

    async def add_device(self, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp) -> None:
        await self._engine.write(add_device_txn, device, token_hash, token_expires)

    async def get_device(self, device: DeviceId) -> DeviceRecord | None:
        return await self._engine.read(get_device_txn, device)

    async def get_device_and_account(self, device: DeviceId) -> tuple[DeviceRecord, AccountRecord] | None:
        return await self._engine.read(get_device_and_account_txn, device)

    async def list_devices(self, account: AccountId) -> list[DeviceRecord]:
        return await self._engine.read(list_devices_txn, account)

    async def list_devices_of(self, accounts: Sequence[AccountId]) -> dict[AccountId, list[DeviceId]]:
        return await self._engine.read(list_devices_of_txn, accounts)

    async def remove_device(self, device: DeviceId) -> bool:
        return await self._engine.write(remove_device_txn, device)
