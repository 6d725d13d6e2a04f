"""Encrypted media: the blobs' records and their bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import (
    AccountId,
    BlobId,
    Timestamp,
)
from passerelle.service.records import (
    BlobAdmission,
    BlobRecord,
    MediaUsage,
)


class MediaStore(Protocol):
    """Metadata of encrypted media blobs and their uploads (the bytes are in a BlobStore)."""

    async def create_blob(self, record: BlobRecord, *, max_pending: int, quota: MediaQuota) -> BlobAdmission:
        """Insert an upload, unless its uploader already has ``max_pending`` unfinished ones, or its
        declared size and count would take the uploader's usage past ``quota``. The check and the
        insert are one transaction, atomic against concurrent uploads of the same account."""
        ...

    async def media_usage(self, account: AccountId) -> MediaUsage:
        """What the account holds now: its blobs' declared sizes and their number (every blob
        counts until ``delete_blobs`` deletes its record)."""
        ...

    async def get_blob(self, blob: BlobId) -> BlobRecord | None: ...

    async def advance_upload(self, blob: BlobId, *, expected: int, received: int) -> bool:
        """Move an unfinished upload's offset from ``expected`` to ``received``; False when it was not
        at ``expected`` (or is finished or gone)."""
        ...

    async def finish_upload(self, blob: BlobId, *, expires_at: Timestamp) -> bool:
        """Mark a fully received upload complete with its final expiry; False otherwise."""
        ...

    async def expired_blobs(self, *, now: Timestamp, limit: int) -> list[BlobId]:
        """Blobs and unfinished uploads whose expiry is at or before ``now`` (at most ``limit``)."""
        ...

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        """Every blob the account uploaded (for export and erasure)."""
        ...

    async def delete_blobs(self, blobs: Sequence[BlobId]) -> int:
        """Delete the records and give their sizes back to their uploaders' usage; returns how
        many existed."""
        ...


class BlobStore(Protocol):
    """Where the bytes of encrypted media live (local files by default). Blob ids are validated by
    the service before they reach here; an adapter still refuses any id that is not ``b_`` + URL-safe
    characters. Every method is safe to call from the event loop (I/O runs elsewhere)."""

    async def write(self, blob: BlobId, *, offset: int, data: bytes) -> None:
        """Durably write ``data`` at ``offset``, dropping whatever the blob held from ``offset`` on
        (so a chunk sent again after a failure replaces a partial earlier attempt)."""
        ...

    async def read(self, blob: BlobId, *, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``. Raises NotFound when the blob is absent."""
        ...

    async def size(self, blob: BlobId) -> int | None:
        """The bytes stored, or None when the blob is absent."""
        ...

    async def delete(self, blobs: Sequence[BlobId]) -> int:
        """Delete the blobs that exist; returns how many were deleted."""
        ...
