"""Media blob metadata and uploads: shared SQL and transaction functions (see ``storage.sql.txn``),
and ``SqlMediaStore``, their part of ``SqlStore``.

The bytes themselves are in a BlobStore (``storage.blobs.files``); these rows say who uploaded a
blob, into which conversation, how much of it arrived, and until when it is kept.

``media_usage`` holds each uploader's total of declared sizes and count of blobs, changed only
here, in the transaction that inserts or deletes the blob rows: a quota check is one conditional
UPDATE, which PostgreSQL serialises on the account's row (no two uploads can both squeeze in).
"""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import AccountId, BlobId, ConversationId, Timestamp
from passerelle.service.records import BlobAdmission, BlobRecord, MediaUsage
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

_COLUMNS = "id, uploader, conv, size, received, complete, ttl_s, created_at, expires_at"
COUNT_PENDING = "SELECT COUNT(*) FROM blobs WHERE uploader = ? AND complete = ?"
INSERT_BLOB = f"INSERT INTO blobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
SELECT_BLOB = f"SELECT {_COLUMNS} FROM blobs WHERE id = ?"
ADVANCE = "UPDATE blobs SET received = ? WHERE id = ? AND received = ? AND complete = ? AND ? <= size"
FINISH = "UPDATE blobs SET complete = ?, expires_at = ? WHERE id = ? AND complete = ? AND received = size"
EXPIRED = "SELECT id FROM blobs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"
OF_ACCOUNT = f"SELECT {_COLUMNS} FROM blobs WHERE uploader = ? ORDER BY created_at, id"
DELETE_BLOBS = "DELETE FROM blobs WHERE id {in_texts} RETURNING uploader, size"
NEW_USAGE = "INSERT INTO media_usage (account, bytes, blobs) VALUES (?, 0, 0) ON CONFLICT DO NOTHING"
RESERVE = (
    "UPDATE media_usage SET bytes = bytes + ?, blobs = blobs + 1 "
    "WHERE account = ? AND bytes + ? <= ? AND blobs + 1 <= ?"
)
RELEASE = "UPDATE media_usage SET bytes = bytes - ?, blobs = blobs - ? WHERE account = ?"
DROP_EMPTY_USAGE = "DELETE FROM media_usage WHERE account = ? AND blobs <= 0"
USAGE = "SELECT bytes, blobs FROM media_usage WHERE account = ?"


def _blob(row: Row) -> BlobRecord:
    return BlobRecord(
        id=BlobId(row[0]),
        uploader=AccountId(row[1]),
        conv=ConversationId(row[2]),
        size=int(row[3]),
        received=int(row[4]),
        complete=bool(row[5]),
        ttl_s=None if row[6] is None else int(row[6]),
        created_at=Timestamp(int(row[7])),
        expires_at=Timestamp(int(row[8])),
    )


def create_blob_txn(
    d: Dialect, record: BlobRecord, max_pending: int, quota: MediaQuota
) -> Txn[BlobAdmission]:
    size, account = record.size, record.uploader
    yield from count(NEW_USAGE, account)
    if not (yield from count(RESERVE, size, account, size, quota.max_bytes, quota.max_blobs)):
        return BlobAdmission.OVER_QUOTA
    # The reservation holds the account's usage row, so this count cannot race another upload's.
    row = yield from one(COUNT_PENDING, account, False)
    if row is not None and int(row[0]) >= max_pending:
        yield from count(RELEASE, size, 1, account)
        yield from count(DROP_EMPTY_USAGE, account)
        return BlobAdmission.TOO_MANY_PENDING
    yield from count(
        INSERT_BLOB,
        record.id,
        record.uploader,
        record.conv,
        record.size,
        record.received,
        record.complete,
        record.ttl_s,
        record.created_at,
        record.expires_at,
    )
    return BlobAdmission.ADMITTED


def media_usage_txn(d: Dialect, account: AccountId) -> Txn[MediaUsage]:
    row = yield from one(USAGE, account)
    return MediaUsage() if row is None else MediaUsage(bytes=int(row[0]), blobs=int(row[1]))


def get_blob_txn(d: Dialect, blob: BlobId) -> Txn[BlobRecord | None]:
    row = yield from one(SELECT_BLOB, blob)
    return None if row is None else _blob(row)


def advance_upload_txn(d: Dialect, blob: BlobId, expected: int, received: int) -> Txn[bool]:
    changed = yield from count(ADVANCE, received, blob, expected, False, received)
    return changed == 1


def finish_upload_txn(d: Dialect, blob: BlobId, expires_at: Timestamp) -> Txn[bool]:
    changed = yield from count(FINISH, True, expires_at, blob, False)
    return changed == 1


def expired_blobs_txn(d: Dialect, now: Timestamp, limit: int) -> Txn[list[BlobId]]:
    rows = yield from all_rows(EXPIRED, now, limit)
    return [BlobId(r[0]) for r in rows]


def blobs_of_txn(d: Dialect, account: AccountId) -> Txn[list[BlobRecord]]:
    rows = yield from all_rows(OF_ACCOUNT, account)
    return [_blob(r) for r in rows]


def delete_blobs_txn(d: Dialect, blobs: Sequence[BlobId]) -> Txn[int]:
    if not blobs:
        return 0
    deleted = yield from all_rows(DELETE_BLOBS, d.texts(list(blobs)))
    freed: dict[str, list[int]] = {}
    for uploader, size in deleted:
        totals = freed.setdefault(str(uploader), [0, 0])
        totals[0] += int(size)
        totals[1] += 1
    # In account order, so two deletions touching the same accounts lock their rows alike.
    for account in sorted(freed):
        size, number = freed[account]
        yield from count(RELEASE, size, number, account)
        yield from count(DROP_EMPTY_USAGE, account)
    return len(deleted)


class SqlMediaStore(SqlPart):
    """``service.ports.MediaStore``: each method one transaction function above, run on ``_engine``."""

    async def create_blob(self, record: BlobRecord, *, max_pending: int, quota: MediaQuota) -> BlobAdmission:
        return await self._engine.write(create_blob_txn, record, max_pending, quota)

    async def media_usage(self, account: AccountId) -> MediaUsage:
        return await self._engine.read(media_usage_txn, account)

    async def get_blob(self, blob: BlobId) -> BlobRecord | None:
        return await self._engine.read(get_blob_txn, blob)

    async def advance_upload(self, blob: BlobId, *, expected: int, received: int) -> bool:
        return await self._engine.write(advance_upload_txn, blob, expected, received)

    async def finish_upload(self, blob: BlobId, *, expires_at: Timestamp) -> bool:
        return await self._engine.write(finish_upload_txn, blob, expires_at)

    async def expired_blobs(self, *, now: Timestamp, limit: int) -> list[BlobId]:
        return await self._engine.read(expired_blobs_txn, now, limit)

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        return await self._engine.read(blobs_of_txn, account)

    async def delete_blobs(self, blobs: Sequence[BlobId]) -> int:
        return await self._engine.write(delete_blobs_txn, list(blobs))
