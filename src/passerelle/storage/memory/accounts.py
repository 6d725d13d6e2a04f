"""Accounts and devices of ``MemoryStore`` (``AccountStore`` and ``DeviceStore``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from passerelle.domain.errors import AliasTaken
from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.service.records import AccountRecord, DeviceRecord
from passerelle.storage.memory.database import ExpiringRow, IntegrityError, MemoryDatabase
from passerelle.storage.memory.part import MemoryPart


def _insert_device(db: MemoryDatabase, device: DeviceRecord, token_hash: str, expires: Timestamp) -> None:
    """Checked by the caller: the device id and the token hash are free, the account exists."""
    db.devices[device.id] = device
    db.devices_of.setdefault(device.account, {})[device.id] = None
    db.tokens[token_hash] = ExpiringRow(device=device.id, expires_at=expires)


def _check_new_device(db: MemoryDatabase, device: DeviceRecord, token_hash: str) -> None:
    if device.id in db.devices:
        raise IntegrityError(f"device {device.id!r} exists already")
    if token_hash in db.tokens:
        raise IntegrityError("that token hash exists already")


class MemoryAccountStore(MemoryPart):
    async def create_account(
        self, account: AccountRecord, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None:
        db = await self._begin()
        if (account.app, account.alias) in db.aliases:
            raise AliasTaken(f"{account.alias!r} is already taken in {account.app}")
        if account.id in db.accounts:
            raise IntegrityError(f"account {account.id!r} exists already")
        _check_new_device(db, device, token_hash)
        if device.account != account.id:
            db.need_account(device.account)
        db.accounts[account.id] = account
        db.aliases[(account.app, account.alias)] = account.id
        _insert_device(db, device, token_hash, token_expires)

    async def get_account(self, account: AccountId) -> AccountRecord | None:
        db = await self._begin()
        return db.accounts.get(account)

    async def find_account(self, app: AppName, alias: str) -> AccountRecord | None:
        db = await self._begin()
        found = db.aliases.get((app, alias))
        return None if found is None else db.accounts[found]

    async def update_settings(
        self, account: AccountId, *, findability: Findability | None, read_receipts: bool
    ) -> None:
        db = await self._begin()
        record = db.accounts.get(account)
        if record is not None:
            db.accounts[account] = dataclasses.replace(
                record, findability=findability, read_receipts=read_receipts
            )


class MemoryDeviceStore(MemoryPart):
    async def add_device(self, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp) -> None:
        db = await self._begin()
        db.need_account(device.account)
        _check_new_device(db, device, token_hash)
        _insert_device(db, device, token_hash, token_expires)

    async def get_device(self, device: DeviceId) -> DeviceRecord | None:
        db = await self._begin()
        return db.devices.get(device)

    async def get_device_and_account(self, device: DeviceId) -> tuple[DeviceRecord, AccountRecord] | None:
        db = await self._begin()
        record = db.devices.get(device)
        account = None if record is None else db.accounts.get(record.account)
        return None if record is None or account is None else (record, account)

    async def list_devices(self, account: AccountId) -> list[DeviceRecord]:
        db = await self._begin()
        return [db.devices[d] for d in db.device_ids(account)]

    async def list_devices_of(self, accounts: Sequence[AccountId]) -> dict[AccountId, list[DeviceId]]:
        db = await self._begin()
        return {a: db.device_ids(a) for a in accounts}

    async def remove_device(self, device: DeviceId) -> bool:
        """The device with its keys, tokens and challenges, and its mailbox."""
        db = await self._begin()
        removed = db.drop_device(device)
        db.mailbox.pop(device, None)
        return removed
