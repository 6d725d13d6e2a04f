"""One-time and fallback keys: shared SQL and transaction functions (see ``storage.sql.txn``), and
``SqlKeyStore``, their part of ``SqlStore``.

A claim deletes the one-time key it hands out in the same statement that picks it. On PostgreSQL
the pick skips rows another claim has locked (``FOR UPDATE SKIP LOCKED``), so concurrent claims
never wait for each other and never hand out the same key; on SQLite one writer serialises them.
"""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, DeviceId
from passerelle.service.records import ClaimedDevice, OneTimeKey
from passerelle.storage.sql.accounts import LIST_DEVICES, device_from_row
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Txn, all_rows, many, one

ADD_ONE_TIME_KEY = (
    "INSERT INTO one_time_keys (device, key_id, key, signature) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
COUNT_ONE_TIME_KEYS = "SELECT COUNT(*) FROM one_time_keys WHERE device = ?"
SET_FALLBACK_KEY = (
    "INSERT INTO fallback_keys (device, key_id, key, signature) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (device) DO UPDATE SET key_id = excluded.key_id, key = excluded.key, "
    "signature = excluded.signature"
)
CLAIM_ONE_TIME_KEY = (
    "DELETE FROM one_time_keys WHERE (device, key_id) IN ("
    "SELECT device, key_id FROM one_time_keys WHERE device = ? ORDER BY key_id LIMIT 1 {skip_locked}"
    ") RETURNING key_id, key, signature"
)
GET_FALLBACK_KEY = "SELECT key_id, key, signature FROM fallback_keys WHERE device = ?"


def add_one_time_keys_txn(d: Dialect, device: DeviceId, keys: Sequence[OneTimeKey]) -> Txn[int]:
    yield from many(ADD_ONE_TIME_KEY, [(device, k.key_id, k.key, k.signature) for k in keys])
    return (yield from count_one_time_keys_txn(d, device))


def count_one_time_keys_txn(d: Dialect, device: DeviceId) -> Txn[int]:
    row = yield from one(COUNT_ONE_TIME_KEYS, device)
    stock: int = 0 if row is None else row[0]
    return stock


def set_fallback_key_txn(d: Dialect, device: DeviceId, key: OneTimeKey) -> Txn[None]:
    yield from many(SET_FALLBACK_KEY, [(device, key.key_id, key.key, key.signature)])


def claim_keys_txn(
    d: Dialect,
    account: AccountId,
    only: frozenset[DeviceId] | None = None,
    exclude: DeviceId | None = None,
) -> Txn[list[ClaimedDevice]]:
    rows = yield from all_rows(LIST_DEVICES, account)
    claimed: list[ClaimedDevice] = []
    for row in rows:
        device = device_from_row(row)
        key: OneTimeKey | None = None
        if device.id == exclude or (only is not None and device.id not in only):
            claimed.append(ClaimedDevice(device=device, one_time_key=None))
            continue
        picked = yield from one(CLAIM_ONE_TIME_KEY, device.id)
        if picked is not None:
            key = OneTimeKey(key_id=picked[0], key=picked[1], signature=picked[2])
        else:
            fallback = yield from one(GET_FALLBACK_KEY, device.id)
            if fallback is not None:
                key = OneTimeKey(key_id=fallback[0], key=fallback[1], signature=fallback[2], fallback=True)
        claimed.append(ClaimedDevice(device=device, one_time_key=key))
    return claimed


class SqlKeyStore(SqlPart):
    """``service.ports.KeyStore``: each method one transaction function above, run on ``_engine``."""

    async def add_one_time_keys(self, device: DeviceId, keys: Sequence[OneTimeKey]) -> int:
        return await self._engine.write(add_one_time_keys_txn, device, keys)

    async def set_fallback_key(self, device: DeviceId, key: OneTimeKey) -> None:
        await self._engine.write(set_fallback_key_txn, device, key)

    async def count_one_time_keys(self, device: DeviceId) -> int:
        return await self._engine.read(count_one_time_keys_txn, device)

    async def claim_keys(
        self,
        account: AccountId,
        *,
        only: Sequence[DeviceId] | None = None,
        exclude: DeviceId | None = None,
    ) -> list[ClaimedDevice]:
        selected = frozenset(only) if only is not None else None
        return await self._engine.write(claim_keys_txn, account, selected, exclude)
