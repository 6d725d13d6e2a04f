"""Bearer tokens, login challenges and one-time codes of ``MemoryStore`` (``TokenStore`` and
``CodeStore``). Only hashes of tokens and codes are kept, as in the SQL stores."""

from __future__ import annotations

import dataclasses

from passerelle.domain.ids import AppName, DeviceId, Timestamp
from passerelle.service.records import AccountRecord, CodeRecord, TokenRecord
from passerelle.storage.memory.database import ExpiringRow
from passerelle.storage.memory.part import MemoryPart


class MemoryTokenStore(MemoryPart):
    async def put_token(self, token_hash: str, *, device: DeviceId, expires_at: Timestamp) -> None:
        db = await self._begin()
        db.need_device(device)
        db.tokens[token_hash] = ExpiringRow(device=device, expires_at=expires_at)

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        db = await self._begin()
        row = db.tokens.get(token_hash)
        if row is None or row.expires_at <= now:
            return None
        device = db.devices.get(row.device)
        if device is None:
            return None
        return TokenRecord(device=row.device, account=device.account, expires_at=row.expires_at)

    async def resolve_caller(
        self, token_hash: str, *, now: Timestamp
    ) -> tuple[TokenRecord, AccountRecord] | None:
        owner = await self.resolve_token(token_hash, now=now)
        if owner is None:
            return None
        account = (await self._begin()).accounts.get(owner.account)
        return None if account is None else (owner, account)

    async def spend_challenge(
        self,
        challenge_hash: str,
        *,
        device: DeviceId,
        expires_at: Timestamp,
        token_hash: str | None,
        token_expires_at: Timestamp,
    ) -> bool:
        """``challenges`` holds the spent ones until they expire (the janitor deletes them)."""
        db = await self._begin()
        db.need_device(device)
        if challenge_hash in db.challenges:
            return False
        db.challenges[challenge_hash] = ExpiringRow(device=device, expires_at=expires_at)
        if token_hash is not None:
            db.tokens[token_hash] = ExpiringRow(device=device, expires_at=token_expires_at)
        return True


class MemoryCodeStore(MemoryPart):
    async def put_code(self, record: CodeRecord) -> None:
        db = await self._begin()
        db.codes[(record.app, record.phone)] = record

    async def get_code(self, app: AppName, phone: str) -> CodeRecord | None:
        db = await self._begin()
        return db.codes.get((app, phone))

    async def spend_attempt(self, app: AppName, phone: str) -> int:
        """Never below zero: 0 means the code exists with no attempt left, -1 that there is none."""
        db = await self._begin()
        record = db.codes.get((app, phone))
        if record is None:
            return -1
        if record.attempts_left <= 0:
            return 0
        left = record.attempts_left - 1
        db.codes[(app, phone)] = dataclasses.replace(record, attempts_left=left)
        return left

    async def delete_code(self, app: AppName, phone: str) -> None:
        db = await self._begin()
        db.codes.pop((app, phone), None)
