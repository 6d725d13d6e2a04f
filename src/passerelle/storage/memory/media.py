"""Media blob metadata, uploads and usage of ``MemoryStore`` (``MediaStore``). The bytes are in a
BlobStore. ``media_usage`` keeps each uploader's declared sizes and number of blobs, changed only
in the transactions that insert or delete blobs, as in the SQL stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import AccountId, BlobId, Timestamp
from passerelle.service.records import BlobAdmission, BlobRecord, MediaUsage
from passerelle.storage.memory.database import IntegrityError, UsageRow
from passerelle.storage.memory.part import MemoryPart


class MemoryMediaStore(MemoryPart):
    async def create_blob(self, record: BlobRecord, *, max_pending: int, quota: MediaQuota) -> BlobAdmission:
        db = await self._begin()
        usage = db.media_usage.get(record.uploader, UsageRow())
        if usage.bytes + record.size > quota.max_bytes or usage.blobs + 1 > quota.max_blobs:
            return BlobAdmission.OVER_QUOTA
        pending = sum(1 for b in db.blobs.values() if b.uploader == record.uploader and not b.complete)
        if pending >= max_pending:
            return BlobAdmission.TOO_MANY_PENDING
        if record.id in db.blobs:
            raise IntegrityError(f"blob {record.id!r} exists already")
        db.blobs[record.id] = record
        usage.bytes += record.size
        usage.blobs += 1
        db.media_usage[record.uploader] = usage
        return BlobAdmission.ADMITTED

    async def media_usage(self, account: AccountId) -> MediaUsage:
        db = await self._begin()
        usage = db.media_usage.get(account)
        return MediaUsage() if usage is None else MediaUsage(bytes=usage.bytes, blobs=usage.blobs)

    async def get_blob(self, blob: BlobId) -> BlobRecord | None:
        db = await self._begin()
        return db.blobs.get(blob)

    async def advance_upload(self, blob: BlobId, *, expected: int, received: int) -> bool:
        db = await self._begin()
        record = db.blobs.get(blob)
        if record is None or record.complete or record.received != expected or received > record.size:
            return False
        db.blobs[blob] = dataclasses.replace(record, received=received)
        return True

    async def finish_upload(self, blob: BlobId, *, expires_at: Timestamp) -> bool:
        db = await self._begin()
        record = db.blobs.get(blob)
        if record is None or record.complete or record.received != record.size:
            return False
        db.blobs[blob] = dataclasses.replace(record, complete=True, expires_at=expires_at)
        return True

    async def expired_blobs(self, *, now: Timestamp, limit: int) -> list[BlobId]:
        db = await self._begin()
        expired = sorted((b.expires_at, b.id) for b in db.blobs.values() if b.expires_at <= now)
        return [blob for _, blob in expired[: max(limit, 0)]]

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        db = await self._begin()
        found = [b for b in db.blobs.values() if b.uploader == account]
        return sorted(found, key=lambda b: (b.created_at, b.id))

    async def delete_blobs(self, blobs: Sequence[BlobId]) -> int:
        db = await self._begin()
        deleted = 0
        for blob in dict.fromkeys(blobs):
            record = db.blobs.pop(blob, None)
            if record is None:
                continue
            deleted += 1
            usage = db.media_usage.get(record.uploader)
            if usage is not None:
                usage.bytes -= record.size
                usage.blobs -= 1
                if usage.blobs <= 0:
                    del db.media_usage[record.uploader]
        return deleted
