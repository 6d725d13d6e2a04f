"""Encrypted media: uploads, downloads and expiry of opaque blobs (docs/protocol.md §8).

Rules
1. The server never sees a file: clients upload ciphertext, and the key, hash, name and type travel
   inside the end-to-end encrypted message that refers to the blob. Nothing here logs a byte of it.
2. An upload belongs to one conversation, chosen by its uploader, who must be a member. It is
   resumable: chunks are written at the offset the server has recorded (``received``); a chunk is
   written durably before the offset moves, and a chunk at any other offset is a ``conflict``
   (the client asks for the offset and goes on from there). A chunk cut off by a disconnect is
   dropped whole, so the offset only ever names complete chunks.
3. A finished blob can be downloaded by the members of its conversation at the time of the
   download; everyone else, and every unknown, unfinished or expired blob, gets the same
   ``not_found``.
4. A blob expires with the messages that refer to it: at the moment it is finished, its expiry is
   that of a message sent into its conversation then (the shortest of the members' apps' retention,
   the conversation's timer and the ttl the uploader asked for). An unfinished upload is abandoned
   after ``upload_ttl_s``. The janitor deletes the file first and the record second, so a record
   never outlives its file unnoticed.
5. What an account holds is bounded by its app's ``MediaQuota``: the declared sizes of its blobs and
   unfinished uploads together, and their number. An upload reserves its declared size when it is
   created (refused with ``quota_exceeded`` if that would pass the quota) and no chunk may go past
   that size, so the bytes stored never exceed the quota; a chunk is refused too while the account
   is over its quota (lowered by the operator meanwhile). Deleting a blob, by its uploader, the
   janitor or an erasure, gives its size back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from passerelle.domain.apps import DAY_S, AppRegistry, MediaQuota
from passerelle.domain.conversations import message_expiry
from passerelle.domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, TooLarge
from passerelle.domain.ids import AccountId, BlobId, ConversationId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.service.ports import AccountStore, BlobStore, Clock, IdGenerator, MediaStore
from passerelle.service.records import BlobAdmission, BlobRecord, ConversationRecord, MediaUsage

log = logging.getLogger("passerelle.media")


class MediaRecords(MediaStore, AccountStore, Protocol):
    """What media needs of the store."""


READ_CHUNK_BYTES = 1024 * 1024
"""How much of a blob a download reads per step (one worker-thread call each)."""
EXPIRE_BATCH = 500
_BLOB_ID = re.compile(r"^b_[A-Za-z0-9_-]{16,64}$")
_NOT_FOUND = "no such blob"


class Members(Protocol):
    """What media needs from messaging: the conversation, if ``account`` is one of its members
    (NotFound otherwise). ``MessagingService.member_conversation`` is one."""

    async def member_conversation(
        self, account: AccountId, conv_id: ConversationId
    ) -> ConversationRecord: ...


class StoryBlobs(Protocol):
    """What media needs from stories (docs/protocol.md §12): a blob may also be uploaded into a
    story (its container is then the story id), by the story's author only, and downloaded by the
    author and the story's audience. ``StoryService`` is one."""

    async def upload_expiry(self, caller: AccountId, container: str) -> Timestamp: ...

    async def may_download(self, caller: AccountId, container: str) -> bool: ...


class BlobRemover:
    """Deletes blobs: their files first, then their records (so a record never outlives its file
    unnoticed). Media uses it, and stories are given one for their blobs (not the media service,
    which needs the stories: no cycle)."""

    def __init__(self, *, store: MediaRecords, blobs: BlobStore) -> None:
        self._store = store
        self._blobs = blobs

    async def delete(self, blobs: Sequence[BlobId]) -> int:
        """Delete these blobs' files, then their records; returns how many records went."""
        await self._blobs.delete(blobs)
        return await self._store.delete_blobs(blobs)


def parse_blob_id(value: str) -> BlobId:
    """A blob id from a URL; anything that is not one is simply not found."""
    if not _BLOB_ID.fullmatch(value):
        raise NotFound(_NOT_FOUND)
    return BlobId(value)


class MediaService:
    def __init__(
        self,
        *,
        store: MediaRecords,
        blobs: BlobStore,
        members: Members,
        apps: AppRegistry,
        clock: Clock,
        ids: IdGenerator,
        limits: Limits,
        stories: StoryBlobs,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._remover = BlobRemover(store=store, blobs=blobs)
        self._members = members
        self._apps = apps
        self._clock = clock
        self._ids = ids
        self.max_blob_bytes = limits.max_blob_bytes
        self.chunk_bytes = limits.blob_chunk_bytes
        self._max_pending = limits.max_pending_uploads
        self._upload_ttl_ms = limits.upload_ttl_s * 1000
        self._writing: set[BlobId] = set()
        """Uploads with a chunk being written by this process (a second one at once is a conflict)."""
        self._stories = stories
        """Containers starting ``s_`` are stories."""

    # --- uploads -------------------------------------------------------------------------------

    async def create_upload(
        self, caller: AccountId, conv_id: ConversationId, *, size: int, ttl_s: int | None = None
    ) -> BlobRecord:
        """Start an upload of ``size`` bytes of ciphertext into a conversation of the caller."""
        if size > self.max_blob_bytes:
            raise TooLarge(f"a blob is limited to {self.max_blob_bytes} bytes")
        if size < 1:
            raise InvalidInput("size: the number of bytes to upload, at least 1")
        if ttl_s is not None and ttl_s <= 0:
            raise InvalidInput("ttl is a positive number of seconds")
        if self._story(conv_id) is not None:
            await self._story_expiry(caller, conv_id)
        else:
            await self._members.member_conversation(caller, conv_id)
        now = self._clock.now_ms()
        record = BlobRecord(
            id=BlobId("b_" + self._ids.token()),
            uploader=caller,
            conv=conv_id,
            size=size,
            received=0,
            complete=False,
            ttl_s=ttl_s,
            created_at=now,
            expires_at=Timestamp(now + self._upload_ttl_ms),
        )
        quota = await self._quota_of(caller)
        admission = await self._store.create_blob(record, max_pending=self._max_pending, quota=quota)
        if admission is BlobAdmission.TOO_MANY_PENDING:
            raise Conflict(f"you have {self._max_pending} unfinished uploads; finish or cancel one first")
        if admission is BlobAdmission.OVER_QUOTA:
            raise _over_quota(quota, await self._store.media_usage(caller), adding=size)
        return record

    async def upload_status(self, caller: AccountId, blob: BlobId) -> BlobRecord:
        """The caller's own upload (finished or not): its size and the offset to resume from."""
        return await self._own(caller, blob)

    async def write_chunk(self, caller: AccountId, blob: BlobId, *, offset: int, data: bytes) -> int:
        """Append ``data`` at ``offset`` (which must be the upload's current offset); returns the new
        offset."""
        if len(data) > self.chunk_bytes:
            raise TooLarge(f"an upload chunk is limited to {self.chunk_bytes} bytes")
        record = await self._own(caller, blob)
        if record.complete:
            raise Conflict("this upload is finished")
        if offset != record.received:
            raise Conflict(f"the upload is at offset {record.received}, not {offset}")
        end = offset + len(data)
        if end > record.size:
            raise InvalidInput(f"the chunk ends at {end}, past the declared size {record.size}")
        quota = await self._quota_of(caller)
        usage = await self._store.media_usage(caller)
        if usage.bytes > quota.max_bytes or usage.blobs > quota.max_blobs:
            raise _over_quota(quota, usage, adding=0)
        if blob in self._writing:
            raise Conflict("another chunk of this upload is being written")
        self._writing.add(blob)
        try:
            await self._blobs.write(blob, offset=offset, data=data)
            if not await self._store.advance_upload(blob, expected=offset, received=end):
                raise Conflict("the upload moved on meanwhile; ask for its offset")
        finally:
            self._writing.discard(blob)
        return end

    async def finish(self, caller: AccountId, blob: BlobId) -> BlobRecord:
        """Close a fully received upload: it becomes downloadable and gets its final expiry."""
        record = await self._own(caller, blob)
        if record.complete:
            return record
        if record.received != record.size or await self._blobs.size(blob) != record.size:
            raise Conflict(f"the upload has {record.received} of {record.size} bytes")
        if self._story(record.conv) is not None:
            expires_at = await self._story_expiry(caller, record.conv)
        else:
            conv = await self._members.member_conversation(caller, record.conv)
            expires_at = message_expiry(
                now=self._clock.now_ms(),
                retention_s=await self._retention_s(conv.members),
                timer_s=conv.timer_s,
                ttl_s=record.ttl_s,
            )
        if not await self._store.finish_upload(blob, expires_at=expires_at):
            raise Conflict("the upload changed meanwhile; ask for its state")
        found = await self._store.get_blob(blob)
        if found is None:
            raise NotFound(_NOT_FOUND)
        return found

    async def cancel(self, caller: AccountId, blob: BlobId) -> None:
        """Delete an upload of the caller's (finished or not) with its bytes."""
        record = await self._own(caller, blob)
        await self._delete([record.id])

    # --- downloads -----------------------------------------------------------------------------

    async def open_download(self, caller: AccountId, blob: BlobId) -> tuple[BlobRecord, int]:
        """The blob and the size of what is stored, if the caller may download it now (NotFound
        otherwise, whatever the reason). The stored bytes are served as they are: should they differ
        from what was uploaded, the receiver's hash check refuses them."""
        record = await self._store.get_blob(blob)
        if record is None or not record.complete or record.expires_at <= self._clock.now_ms():
            raise NotFound(_NOT_FOUND)
        stories = self._story(record.conv)
        if stories is not None:
            if not await stories.may_download(caller, record.conv):
                raise NotFound(_NOT_FOUND)
        else:
            try:
                await self._members.member_conversation(caller, record.conv)
            except NotFound:
                raise NotFound(_NOT_FOUND) from None
        stored = await self._blobs.size(blob)
        if stored is None:
            raise NotFound(_NOT_FOUND)
        if stored != record.size:
            log.warning("a blob's stored size differs from its upload", extra={"blob": blob})
        return record, stored

    async def read_chunks(self, blob: BlobId, size: int) -> AsyncIterator[bytes]:
        """``size`` bytes of the blob, a worker-thread read at a time (fewer if the file shrinks)."""
        offset = 0
        while offset < size:
            chunk = await self._blobs.read(blob, offset=offset, length=min(READ_CHUNK_BYTES, size - offset))
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    # --- retention and erasure -------------------------------------------------------------------

    async def delete_expired(self, now: Timestamp) -> int:
        """The janitor's part: delete expired blobs and abandoned uploads; returns how many."""
        deleted = 0
        while True:
            expired = await self._store.expired_blobs(now=now, limit=EXPIRE_BATCH)
            if not expired:
                return deleted
            deleted += await self._delete(expired)
            if len(expired) < EXPIRE_BATCH:
                return deleted

    async def erase_account(self, account: AccountId) -> int:
        """Delete every blob the account uploaded (account erasure); returns how many."""
        return await self._delete([b.id for b in await self._store.blobs_of(account)])

    async def blobs_of(self, account: AccountId) -> list[BlobRecord]:
        """What the server holds about the account's uploads (for an export)."""
        return await self._store.blobs_of(account)

    # --- helpers -------------------------------------------------------------------------------

    def _story(self, container: str) -> StoryBlobs | None:
        return self._stories if container.startswith("s_") else None

    async def _story_expiry(self, caller: AccountId, container: str) -> Timestamp:
        return await self._stories.upload_expiry(caller, container)

    async def _quota_of(self, account: AccountId) -> MediaQuota:
        """The media quota of the account's app (the default one if the app is gone)."""
        record = await self._store.get_account(account)
        app = self._apps.get(record.app) if record is not None else None
        return app.media_quota if app is not None else MediaQuota()

    async def _own(self, caller: AccountId, blob: BlobId) -> BlobRecord:
        record = await self._store.get_blob(blob)
        if record is None or record.uploader != caller or record.expires_at <= self._clock.now_ms():
            raise NotFound(_NOT_FOUND)
        return record

    async def _delete(self, blobs: Sequence[BlobId]) -> int:
        return await self._remover.delete(blobs)

    async def _retention_s(self, members: Sequence[AccountId]) -> int:
        best = 0
        for member in members:
            account = await self._store.get_account(member)
            app = self._apps.get(account.app) if account is not None else None
            retention = app.retention_s if app is not None else 30 * DAY_S
            best = retention if best == 0 else min(best, retention)
        return best or 30 * DAY_S


def _over_quota(quota: MediaQuota, usage: MediaUsage, *, adding: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"your media quota is {quota.max_bytes} bytes in at most {quota.max_blobs} files; you hold "
        f"{usage.bytes} bytes in {usage.blobs}"
        + (f", and this upload needs {adding} more" if adding else "")
        + ": delete some or wait for them to expire"
    )
