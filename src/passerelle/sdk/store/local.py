"""LocalStore: a device's state on disk, in one directory (mode 0700).

```
<store_dir>/client.db    SQLite, mode 0600 (see passerelle.sdk.store.db)
<store_dir>/store.key    the random StoreKey, mode 0600   -- or, with a passphrase --
<store_dir>/store.salt   the scrypt salt, mode 0600
```
Message bodies, contacts and the token are sealed with the StoreKey; the vodozemac pickles are
encrypted with a sub-key of it. A check value sealed at creation detects a wrong passphrase before
anything else is read. Composite transactions (a decrypted message with the session state it
advanced) are run by the inbox and outbox through ``store.db.run`` with the ``_txn`` functions.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgspec

from passerelle.crypto import CryptoChanges, DeviceCrypto, PickleError, SealedDataInvalid, StoreKey
from passerelle.domain.ids import AccountId, AppName, DeviceId
from passerelle.sdk.errors import StoreError
from passerelle.sdk.events import Contact, Settings
from passerelle.sdk.store import history, state
from passerelle.sdk.store.db import ClientDatabase

DB_FILE = "client.db"
KEY_FILE = "store.key"
SALT_FILE = "store.salt"
_PICKLE_LABEL = "passerelle/v1/vodozemac-pickle"
_CHECK_AAD = b"passerelle-store-check"
_IDENTITY_KEYS = ("server_url", "app", "account_id", "device_id", "address", "device_name")
DEVICE_LISTS_CACHED = 1024
"""Fetched device lists kept in memory (every send reads two: the recipient's and mine)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who this device is: where its server is and the ids the server gave it."""

    server_url: str
    app: AppName
    account_id: AccountId
    device_id: DeviceId
    address: str | None
    device_name: str


class _ContactRecord(msgspec.Struct, frozen=True):
    app: str
    display_name: str
    address: str | None


class LocalStore:
    """The store of one device. Create it with ``create`` or ``open``; ``close`` it."""

    __slots__ = ("_device_lists", "_device_lists_gen", "db", "key", "pickle_key")

    def __init__(self, db: ClientDatabase, key: StoreKey) -> None:
        self.db = db
        self.key = key
        self.pickle_key = key.subkey(_PICKLE_LABEL)
        # A read-through copy of the fetched device lists (bounded, oldest out first). Every change
        # goes through ``replace_devices`` and ``forget_device_list``, which drop the entry and bump
        # the generation, so a read that raced with a change never puts an old list back.
        self._device_lists: dict[AccountId, tuple[tuple[state.KnownDevice, ...], int]] = {}
        self._device_lists_gen = 0

    @classmethod
    async def create(cls, store_dir: Path, *, passphrase: str | None = None) -> LocalStore:
        """A new, empty store. Raises StoreError when ``store_dir`` already holds one."""
        key = await asyncio.to_thread(_new_key, store_dir, passphrase)
        db = await ClientDatabase.open(store_dir / DB_FILE, create=True)
        store = cls(db, key)
        check = key.seal(b"ok", _CHECK_AAD).hex()
        await db.run(state.set_meta_txn, {"check": check})
        return store

    @classmethod
    async def open(cls, store_dir: Path, *, passphrase: str | None = None) -> LocalStore:
        """An existing store. Raises StoreError when it is missing or the passphrase is wrong."""
        key = await asyncio.to_thread(_existing_key, store_dir, passphrase)
        try:
            db = await ClientDatabase.open(store_dir / DB_FILE, create=False)
        except FileNotFoundError as exc:
            raise StoreError(f"no local store in {store_dir}") from exc
        try:
            meta = await db.run(state.get_meta_txn, ["check"])
            key.open(bytes.fromhex(meta["check"]), _CHECK_AAD)
        except (KeyError, ValueError, SealedDataInvalid) as exc:
            await db.close()
            raise StoreError("wrong passphrase, or the store is damaged") from exc
        return cls(db, key)

    async def close(self) -> None:
        await self.db.close()

    # --- identity, token, settings --------------------------------------------------------------

    async def save_identity(self, identity: Identity) -> None:
        values = {k: getattr(identity, k) for k in _IDENTITY_KEYS}
        await self.db.run(state.set_meta_txn, values)

    async def identity(self) -> Identity:
        meta = await self.db.run(state.get_meta_txn, list(_IDENTITY_KEYS))
        if "account_id" not in meta:
            raise StoreError("this store holds no registered device")
        return Identity(
            server_url=meta["server_url"],
            app=AppName(meta["app"]),
            account_id=AccountId(meta["account_id"]),
            device_id=DeviceId(meta["device_id"]),
            address=meta.get("address"),
            device_name=meta.get("device_name", ""),
        )

    async def save_token(self, token: str, expires_at: int) -> None:
        sealed = self.key.seal(token.encode(), b"passerelle-token").hex()
        await self.db.run(state.set_meta_txn, {"token": sealed, "token_expires_at": str(expires_at)})

    async def token(self) -> tuple[str, int] | None:
        meta = await self.db.run(state.get_meta_txn, ["token", "token_expires_at"])
        if "token" not in meta:
            return None
        token = self.key.open(bytes.fromhex(meta["token"]), b"passerelle-token").decode()
        return token, int(meta.get("token_expires_at", "0"))

    async def save_settings(self, settings: Settings) -> None:
        values = {
            "findability": settings.findability,
            "read_receipts": "1" if settings.read_receipts else "0",
        }
        await self.db.run(state.set_meta_txn, values)

    async def settings(self) -> Settings | None:
        meta = await self.db.run(state.get_meta_txn, ["findability", "read_receipts"])
        if "read_receipts" not in meta:
            return None
        return Settings(
            findability=meta.get("findability", "everyone"), read_receipts=meta["read_receipts"] == "1"
        )

    # --- crypto ---------------------------------------------------------------------------------

    async def load_crypto(self) -> DeviceCrypto:
        meta = await self.db.run(state.get_meta_txn, [state.ACCOUNT_PICKLE])
        sessions = await self.db.run(state.load_sessions_txn)
        if state.ACCOUNT_PICKLE not in meta:
            raise StoreError("this store holds no device keys")
        try:
            return DeviceCrypto.from_pickle(meta[state.ACCOUNT_PICKLE], self.pickle_key, sessions=sessions)
        except PickleError as exc:
            raise StoreError("the device keys cannot be opened with this store key") from exc

    async def save_crypto(self, changes: CryptoChanges) -> None:
        if not changes.empty:
            await self.db.run(state.save_crypto_txn, changes)

    # --- devices and contacts -------------------------------------------------------------------

    async def devices(self, account: AccountId) -> tuple[list[state.KnownDevice], int | None]:
        cached = self._device_lists.get(account)
        if cached is not None:
            return list(cached[0]), cached[1]
        gen = self._device_lists_gen
        devices, fetched = await self.db.run(state.devices_txn, account)
        if fetched is not None and gen == self._device_lists_gen:
            if len(self._device_lists) >= DEVICE_LISTS_CACHED:
                del self._device_lists[next(iter(self._device_lists))]
            self._device_lists[account] = (tuple(devices), fetched)
        return devices, fetched

    def _drop_device_list(self, account: AccountId) -> None:
        self._device_lists_gen += 1
        self._device_lists.pop(account, None)

    async def replace_devices(self, account: AccountId, devices: list[state.KnownDevice], now: int) -> None:
        self._drop_device_list(account)
        try:
            await self.db.run(state.replace_devices_txn, account, devices, now)
        finally:
            self._drop_device_list(account)

    async def forget_device_list(self, account: AccountId) -> None:
        self._drop_device_list(account)
        try:
            await self.db.run(state.forget_device_list_txn, account)
        finally:
            self._drop_device_list(account)

    async def put_contact(self, contact: Contact) -> None:
        record = _ContactRecord(app=contact.app, display_name=contact.display_name, address=contact.address)
        sealed = self.key.seal(msgspec.json.encode(record), b"contact\x00" + contact.account_id.encode())
        await self.db.run(state.put_contact_txn, contact.account_id, sealed)

    async def contact(self, account: AccountId) -> Contact | None:
        sealed = await self.db.run(state.get_contact_txn, account)
        if sealed is None:
            return None
        record = msgspec.json.decode(
            self.key.open(sealed, b"contact\x00" + account.encode()), type=_ContactRecord
        )
        return Contact(
            account_id=account,
            app=AppName(record.app),
            display_name=record.display_name,
            address=record.address,
        )

    # --- history --------------------------------------------------------------------------------

    async def history(self, conv: str, *, limit: int, now: int) -> list[history.StoredMessage]:
        return await self.db.run(history.history_txn, self.key, conv, limit=limit, now=now)

    async def purge_expired(self, now: int) -> int:
        def purge_txn(conn: sqlite3.Connection) -> int:
            state.purge_processed_txn(conn, now)
            return history.purge_expired_txn(conn, now)

        purged = await self.db.run(purge_txn)
        if purged:
            await self.db.checkpoint()  # the purged messages' pages leave the WAL too
        return purged


def _new_key(store_dir: Path, passphrase: str | None) -> StoreKey:
    store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(store_dir, 0o700)
    if (store_dir / DB_FILE).exists():
        raise StoreError(f"{store_dir} already holds a local store")
    if passphrase is not None:
        if (store_dir / SALT_FILE).exists():
            (store_dir / SALT_FILE).unlink()  # a leftover from an aborted creation
        return StoreKey.from_passphrase(passphrase, store_dir / SALT_FILE)
    if (store_dir / KEY_FILE).exists():
        (store_dir / KEY_FILE).unlink()
    return StoreKey.create_file(store_dir / KEY_FILE)


def _existing_key(store_dir: Path, passphrase: str | None) -> StoreKey:
    if (store_dir / SALT_FILE).exists():
        if not passphrase:
            raise StoreError("this store is protected by a passphrase")
        return StoreKey.from_passphrase(passphrase, store_dir / SALT_FILE)
    if (store_dir / KEY_FILE).exists():
        return StoreKey.load_file(store_dir / KEY_FILE)
    raise StoreError(f"no local store in {store_dir}")
