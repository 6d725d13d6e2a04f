"""What the SQLite and PostgreSQL stores share: every Store method outside the mailbox, each one
transaction function (``storage.sql.*``) run by the store's engine.

``SqliteStore`` and ``PostgresStore`` add the engine's life cycle and its mailbox, which is where
the two engines really differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import AccountId, AppName, BlobId, ConversationId, DeviceId, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.service.ports import Clock
from passerelle.service.records import (
    AccountRecord,
    BlobAdmission,
    BlobRecord,
    ClaimedDevice,
    CodeRecord,
    ConversationRecord,
    DeviceRecord,
    MediaUsage,
    OneTimeKey,
    TokenRecord,
)
from passerelle.storage.sql import accounts as sql_accounts
from passerelle.storage.sql import conversations as sql_conversations
from passerelle.storage.sql import credentials as sql_credentials
from passerelle.storage.sql import keys as sql_keys
from passerelle.storage.sql import media as sql_media
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.groups import SqlGroupStore
from passerelle.storage.sql.privacy_store import PrivacySql
from passerelle.storage.sql.stories import StorySql
from passerelle.storage.sql.txn import Txn

P = ParamSpec("P")
R = TypeVar("R")


class SqlEngine(Protocol):
    """Runs a transaction function in one transaction (``write``) or as committed reads (``read``)."""

    async def read(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...

    async def write(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...


def wall_clock_ms() -> Timestamp:
    return Timestamp(time.time_ns() // 1_000_000)


class SqlStore(SqlGroupStore, PrivacySql, StorySql):
    def __init__(self, engine: SqlEngine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._now: Callable[[], Timestamp] = wall_clock_ms if clock is None else clock.now_ms

    # -- accounts ------------------------------------------------------------------------------

    async def create_account(
        self, account: AccountRecord, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None:
        await self._engine.write(sql_accounts.create_account_txn, account, device, token_hash, token_expires)

    async def get_account(self, account: AccountId) -> AccountRecord | None:
        return await self._engine.read(sql_accounts.get_account_txn, account)

    async def find_account(self, app: AppName, alias: str) -> AccountRecord | None:
        return await self._engine.read(sql_accounts.find_account_txn, app, alias)

    async def update_settings(
        self, account: AccountId, *, findability: Findability | None, read_receipts: bool
    ) -> None:
        await self._engine.write(sql_accounts.update_settings_txn, account, findability, read_receipts)

    # -- devices -------------------------------------------------------------------------------

    async def add_device(self, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp) -> None:
        await self._engine.write(sql_accounts.add_device_txn, device, token_hash, token_expires)

    async def get_device(self, device: DeviceId) -> DeviceRecord | None:
        return await self._engine.read(sql_accounts.get_device_txn, device)

    async def list_devices(self, account: AccountId) -> list[DeviceRecord]:
        return await self._engine.read(sql_accounts.list_devices_txn, account)

    async def list_devices_of(self, accounts: Sequence[AccountId]) -> dict[AccountId, list[DeviceId]]:
        return await self._engine.read(sql_accounts.list_devices_of_txn, accounts)

    async def remove_device(self, device: DeviceId) -> bool:
        return await self._engine.write(sql_accounts.remove_device_txn, device)

    # -- tokens and challenges -----------------------------------------------------------------

    async def put_token(self, token_hash: str, *, device: DeviceId, expires_at: Timestamp) -> None:
        await self._engine.write(sql_credentials.put_token_txn, token_hash, device, expires_at)

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        return await self._engine.read(sql_credentials.resolve_token_txn, token_hash, now)

    async def put_challenge(self, challenge: str, *, device: DeviceId, expires_at: Timestamp) -> None:
        await self._engine.write(sql_credentials.put_challenge_txn, challenge, device, expires_at)

    async def take_challenge(self, challenge: str, *, device: DeviceId, now: Timestamp) -> bool:
        return await self._engine.write(sql_credentials.take_challenge_txn, challenge, device, now)

    # -- one-time codes ------------------------------------------------------------------------

    async def put_code(self, record: CodeRecord) -> None:
        await self._engine.write(sql_credentials.put_code_txn, record)

    async def get_code(self, app: AppName, phone: str) -> CodeRecord | None:
        return await self._engine.read(sql_credentials.get_code_txn, app, phone)

    async def spend_attempt(self, app: AppName, phone: str) -> int:
        return await self._engine.write(sql_credentials.spend_attempt_txn, app, phone)

    async def delete_code(self, app: AppName, phone: str) -> None:
        await self._engine.write(sql_credentials.delete_code_txn, app, phone)

    # -- keys ----------------------------------------------------------------------------------

    async def add_one_time_keys(self, device: DeviceId, keys: Sequence[OneTimeKey]) -> int:
        return await self._engine.write(sql_keys.add_one_time_keys_txn, device, keys)

    async def set_fallback_key(self, device: DeviceId, key: OneTimeKey) -> None:
        await self._engine.write(sql_keys.set_fallback_key_txn, device, key)

    async def count_one_time_keys(self, device: DeviceId) -> int:
        return await self._engine.read(sql_keys.count_one_time_keys_txn, device)

    async def claim_keys(
        self,
        account: AccountId,
        *,
        only: Sequence[DeviceId] | None = None,
        exclude: DeviceId | None = None,
    ) -> list[ClaimedDevice]:
        selected = frozenset(only) if only is not None else None
        return await self._engine.write(sql_keys.claim_keys_txn, account, selected, exclude)

    # -- conversations -------------------------------------------------------------------------

    async def ensure_direct(
        self, conv: ConversationId, a: AccountId, b: AccountId, *, now: Timestamp
    ) -> ConversationRecord:
        return await self._engine.write(sql_conversations.ensure_direct_txn, conv, a, b, now)

    async def get_conversation(self, conv: ConversationId) -> ConversationRecord | None:
        return await self._engine.read(sql_conversations.get_conversation_txn, conv)

    async def list_conversations(self, account: AccountId) -> list[ConversationRecord]:
        return await self._engine.read(sql_conversations.list_conversations_txn, account)

    async def set_timer(self, conv: ConversationId, timer_s: int) -> None:
        await self._engine.write(sql_conversations.set_timer_txn, conv, timer_s)

    async def shares_conversation(self, a: AccountId, b: AccountId) -> bool:
        return await self._engine.read(sql_conversations.shares_conversation_txn, a, b)

    # -- media blobs (storage.sql.media) ---------------------------------------------------------

    async def create_blob(self, record: BlobRecord, *, max_pending: int, quota: MediaQuota) -> BlobAdmission:
        return await self._engine.write(sql_media.create_blob_txn, record, max_pending, quota)

    async def media_usage(self, account: AccountId) -> MediaUsage:
        return await self._engine.read(sql_media.media_usage_txn, account)

    async def get_blob(self, blob: BlobId) -> BlobRecord | None:
        return await self._engine.read(sql_media.get_blob_txn, blob)

    async def advance_upload(self, blob: BlobId, *, expected: int, received: int) -> bool:
        return await self._engine.write(sql_media.advance_upload_txn, blob, expected, received)

    async def finish_upload(self, blob: BlobId, *, expires_at: Timestamp) -> bool:
        return await self._engine.write(sql_media.finish_upload_txn, blob, expires_at)

    async def expired_blobs(self, *, now: Timestamp, limit: int) -> list[BlobId]:
        return await self._engine.read(sql_media.expired_blobs_txn, now, limit)

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        return await self._engine.read(sql_media.blobs_of_txn, account)

    async def delete_blobs(self, blobs: Sequence[BlobId]) -> int:
        return await self._engine.write(sql_media.delete_blobs_txn, list(blobs))
