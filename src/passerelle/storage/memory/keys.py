"""One-time and fallback keys of ``MemoryStore`` (``KeyStore``). A claim takes the key with the
smallest id and deletes it in the same transaction, so each key is handed out exactly once."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, DeviceId
from passerelle.service.records import ClaimedDevice, OneTimeKey
from passerelle.storage.memory.database import KeyRow
from passerelle.storage.memory.part import MemoryPart


class MemoryKeyStore(MemoryPart):
    async def add_one_time_keys(self, device: DeviceId, keys: Sequence[OneTimeKey]) -> int:
        db = await self._begin()
        if keys:
            db.need_device(device)
            stock = db.one_time_keys.setdefault(device, {})
            for k in keys:
                stock.setdefault(k.key_id, KeyRow(key_id=k.key_id, key=k.key, signature=k.signature))
        return len(db.one_time_keys.get(device, ()))

    async def set_fallback_key(self, device: DeviceId, key: OneTimeKey) -> None:
        db = await self._begin()
        db.need_device(device)
        db.fallback_keys[device] = KeyRow(key_id=key.key_id, key=key.key, signature=key.signature)

    async def count_one_time_keys(self, device: DeviceId) -> int:
        db = await self._begin()
        return len(db.one_time_keys.get(device, ()))

    async def claim_keys(
        self,
        account: AccountId,
        *,
        only: Sequence[DeviceId] | None = None,
        exclude: DeviceId | None = None,
    ) -> list[ClaimedDevice]:
        db = await self._begin()
        selected = None if only is None else frozenset(only)
        claimed: list[ClaimedDevice] = []
        for device_id in db.device_ids(account):
            device = db.devices[device_id]
            key: OneTimeKey | None = None
            if device_id != exclude and (selected is None or device_id in selected):
                stock = db.one_time_keys.get(device_id)
                fallback = db.fallback_keys.get(device_id)
                if stock:
                    row = stock.pop(min(stock))
                    if not stock:
                        del db.one_time_keys[device_id]
                    key = OneTimeKey(key_id=row.key_id, key=row.key, signature=row.signature)
                elif fallback is not None:
                    key = OneTimeKey(
                        key_id=fallback.key_id, key=fallback.key, signature=fallback.signature, fallback=True
                    )
            claimed.append(ClaimedDevice(device=device, one_time_key=key))
        return claimed
