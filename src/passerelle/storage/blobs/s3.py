"""``S3BlobStore``: the BlobStore port on S3-compatible object storage, shared by several nodes.

The port writes a blob as resumable chunks at offsets, and an object in S3 cannot be appended to, so
a blob is a run of *segments*: one object per chunk written, named by the offset it starts at,
``<prefix>/<2 characters of the id>/<id>/<offset, 15 digits>``. The blob's bytes are the segments
end to end from offset 0; its size is where that run ends. Every write is one PUT that S3 makes
durable and visible to every node before it returns (strong read-after-write consistency); a PUT
larger than ``part_bytes`` goes up as a multipart upload of ``part_bytes`` parts, streamed from the
chunk without another copy. Reads are ranged GETs of the segments the range covers, so a download
never holds more than the port's read length.

A write at ``offset`` first drops what lay beyond it (the segments that start past it; one that
straddles it is cut back), then PUTs its segment: a crash in between leaves the blob shorter, never
with stale bytes inside it. Deleting a blob deletes its segments (absent blobs count for nothing, so
deleting twice is harmless). The quota and the upload offsets live in the database, as with files.

The client is obstore (Rust's ``object_store`` under an asyncio API): every call runs on its own
runtime, never blocking the event loop. Credentials come from the settings or from the usual
``AWS_*`` environment variables; they are never logged, and an error names only its kind.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from passerelle.domain.errors import Conflict, NotFound, Unavailable
from passerelle.domain.ids import BlobId
from passerelle.storage.blobs.files import checked_id

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part of a multipart upload (all but the last)."""
DEFAULT_PART_BYTES = 8 * 1024 * 1024
_OFFSET_DIGITS = 15
_LAYOUT_TTL_S = 10.0
_LAYOUT_ENTRIES = 1024
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Location:
    """Where the blobs go: ``s3://bucket/prefix`` and how to reach it. Empty fields are taken from
    the environment (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``...)."""

    bucket: str
    prefix: str = ""
    endpoint: str = ""
    """An S3-compatible server's URL (MinIO, Ceph, Garage...); empty: AWS itself."""
    region: str = ""
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)

    @classmethod
    def parse(cls, url: str, **fields: str) -> S3Location:
        """``s3://bucket`` or ``s3://bucket/some/prefix``."""
        if not url.startswith("s3://"):
            raise ValueError("an S3 blob location starts with s3://")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError("an S3 blob location names its bucket: s3://bucket/prefix")
        return cls(bucket=bucket, prefix=prefix.strip("/"), **fields)


@dataclass(frozen=True, slots=True)
class _Segment:
    start: int
    size: int
    key: str

    @property
    def end(self) -> int:
        return self.start + self.size


class S3BlobStore:
    def __init__(self, location: S3Location, *, part_bytes: int = DEFAULT_PART_BYTES) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"an S3 part is at least {MIN_PART_BYTES} bytes")
        config: S3Config = {}
        if location.endpoint:
            config["endpoint"] = location.endpoint
        if location.region:
            config["region"] = location.region
        if location.access_key_id:
            config["access_key_id"] = location.access_key_id
        if location.secret_access_key:
            config["secret_access_key"] = location.secret_access_key
        client: ClientConfig = {"connect_timeout": "5s", "timeout": "120s"}
        if location.endpoint.startswith("http://"):
            client["allow_http"] = True
        retry: RetryConfig = {"max_retries": 3, "retry_timeout": timedelta(seconds=20)}
        self.location = location
        self.part_bytes = part_bytes
        try:
            self._store = S3Store(
                location.bucket,
                prefix=location.prefix or None,
                config=config,
                client_options=client,
                retry_config=retry,
            )
        except obstore.exceptions.BaseError as exc:
            said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            for secret in (location.access_key_id, location.secret_access_key):
                said = said.replace(secret, "***") if secret else said
            raise ValueError(f"the S3 blob store cannot be set up: {said}") from None
        self._layouts: OrderedDict[BlobId, tuple[float, list[_Segment]]] = OrderedDict()
        """Recent segment lists, for reads only: a download reads a finished blob (which never
        changes) a chunk at a time, and should not list it again for every chunk."""

    def key_of(self, blob: BlobId) -> str:
        """The folder of a blob's segments, under the store's prefix (for operators and tests)."""
        name = checked_id(blob)
        return f"{name[2:4]}/{name}"

    async def write(self, blob: BlobId, *, offset: int, data: bytes) -> None:
        if offset < 0:
            raise ValueError("offset must not be negative")
        folder = self.key_of(blob)
        self._layouts.pop(blob, None)
        segments = await self._segments(folder)
        if not segments and offset != 0:
            raise Conflict("the upload's stored bytes are missing; start it again")
        if _contiguous_end(segments) < offset:
            raise Conflict("the upload's stored bytes are shorter than its offset; start it again")
        beyond = [s.key for s in segments if s.start > offset]
        straddling = [s for s in segments if s.start < offset < s.end]
        for segment in straddling:
            head = await self._get(segment.key, start=0, end=offset - segment.start)
            await self._put(segment.key, head)
        if beyond:
            await _call(obstore.delete_async(self._store, beyond))
        await self._put(f"{folder}/{offset:0{_OFFSET_DIGITS}d}", data)

    async def read(self, blob: BlobId, *, offset: int, length: int) -> bytes:
        folder = self.key_of(blob)
        segments = self._cached(blob)
        if segments is None:
            segments = await self._segments(folder)
            if not segments:
                raise NotFound("no such blob")
            self._remember(blob, segments)
        stop = min(offset + max(length, 0), _contiguous_end(segments))
        pieces: list[bytes] = []
        try:
            for segment in segments:
                if segment.end <= offset or segment.start >= stop or segment.size == 0:
                    continue
                start, end = max(offset, segment.start), min(stop, segment.end)
                pieces.append(
                    await self._get(segment.key, start=start - segment.start, end=end - segment.start)
                )
        except NotFound:
            self._layouts.pop(blob, None)
            raise
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def size(self, blob: BlobId) -> int | None:
        segments = await self._segments(self.key_of(blob))
        return _contiguous_end(segments) if segments else None

    async def delete(self, blobs: Sequence[BlobId]) -> int:
        folders = [(b, self.key_of(b)) for b in blobs]
        deleted = 0
        for blob, folder in folders:
            self._layouts.pop(blob, None)
            keys = [s.key for s in await self._segments(folder)]
            if keys:
                await _call(obstore.delete_async(self._store, keys))
                deleted += 1
        return deleted

    # --- helpers -------------------------------------------------------------------------------

    async def _segments(self, folder: str) -> list[_Segment]:
        """The blob's segments in offset order (a listing is strongly consistent in S3)."""
        found = await _call(obstore.list(self._store, folder + "/", chunk_size=1000).collect_async())
        segments: list[_Segment] = []
        for meta in found:
            name = meta["path"].rsplit("/", 1)[-1]
            if len(name) == _OFFSET_DIGITS and name.isdigit():
                segments.append(_Segment(int(name), meta["size"], meta["path"]))
        segments.sort(key=lambda s: s.start)
        return segments

    async def _get(self, key: str, *, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return bytes(await _call(obstore.get_range_async(self._store, key, start=start, end=end)))

    async def _put(self, key: str, data: bytes) -> None:
        await _call(obstore.put_async(self._store, key, data, chunk_size=self.part_bytes, max_concurrency=4))

    def _cached(self, blob: BlobId) -> list[_Segment] | None:
        entry = self._layouts.get(blob)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _remember(self, blob: BlobId, segments: list[_Segment]) -> None:
        self._layouts[blob] = (time.monotonic() + _LAYOUT_TTL_S, segments)
        self._layouts.move_to_end(blob)
        while len(self._layouts) > _LAYOUT_ENTRIES:
            self._layouts.popitem(last=False)


def _contiguous_end(segments: Sequence[_Segment]) -> int:
    """Where the run of segments from offset 0 ends (0 when there are none)."""
    end = 0
    for segment in segments:
        if segment.start > end:
            break
        end = max(end, segment.end)
    return end


async def _call(pending: Awaitable[T]) -> T:
    """Await an obstore call: a missing object is ``not_found``; any other failure of the object
    storage (unreachable, refused, misconfigured) is ``unavailable``, named by its kind only."""
    try:
        return await pending
    except (NotFoundError, FileNotFoundError):
        raise NotFound("no such blob") from None
    except (obstore.exceptions.BaseError, OSError, ValueError, RuntimeError) as exc:
        raise Unavailable(f"the blob storage failed ({type(exc).__name__})") from exc
