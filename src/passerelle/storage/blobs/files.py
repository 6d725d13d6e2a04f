"""``LocalBlobStore``: the BlobStore port on local files, under ``<data_dir>/blobs``.

One file per blob, ``blobs/<2 characters of the id>/<id>``, mode 0600 in folders of mode 0700
(whatever the umask: ``storage.private_files``), holding exactly the
ciphertext the client uploaded (the server cannot read it). Every file operation runs in a worker
thread, never on the event loop. A write is fsynced before it returns, so an upload offset recorded
in the database after it never points past durable bytes.

Several server processes can share one LocalBlobStore only through a shared file system; otherwise
a multi-node deployment needs another BlobStore adapter (object storage).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

from passerelle.domain.errors import Conflict, NotFound, Unavailable
from passerelle.domain.ids import BlobId
from passerelle.storage.private_files import create_dirs, open_private

P = ParamSpec("P")
R = TypeVar("R")
_VALID_ID = re.compile(r"^b_[A-Za-z0-9_-]{16,64}$")


def checked_id(blob: BlobId) -> str:
    """The id, refused unless it is a plain file name (no path can be smuggled in)."""
    if not _VALID_ID.fullmatch(blob):
        raise NotFound("no such blob")
    return str(blob)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        """Blobs go in ``root`` (created when the first one is written)."""
        self.root = Path(root)

    def path_of(self, blob: BlobId) -> Path:
        """Where a blob's file is (for operators and tests)."""
        name = checked_id(blob)
        return self.root / name[2:4] / name

    async def write(self, blob: BlobId, *, offset: int, data: bytes) -> None:
        if offset < 0:
            raise ValueError("offset must not be negative")
        await _in_thread(_write, self.path_of(blob), offset, data)

    async def read(self, blob: BlobId, *, offset: int, length: int) -> bytes:
        return await _in_thread(_read, self.path_of(blob), offset, length)

    async def size(self, blob: BlobId) -> int | None:
        return await _in_thread(_size, self.path_of(blob))

    async def delete(self, blobs: Sequence[BlobId]) -> int:
        paths = [self.path_of(b) for b in blobs]
        if not paths:
            return 0
        return await _in_thread(_delete, paths)


async def _in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a file operation in a worker thread; a failing disk is ``unavailable``, not a crash."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except OSError as exc:
        raise Unavailable(f"the blob storage failed ({type(exc).__name__})") from exc


def _write(path: Path, offset: int, data: bytes) -> None:
    created = False
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        if offset != 0:
            raise Conflict("the upload's stored bytes are missing; start it again") from None
        create_dirs(path.parent)
        fd = open_private(path, os.O_WRONLY)
        created = True
    try:
        if os.fstat(fd).st_size < offset:
            raise Conflict("the upload's stored bytes are shorter than its offset; start it again")
        os.ftruncate(fd, offset)
        view = memoryview(data)
        position = offset
        while view:
            written = os.pwrite(fd, view, position)
            view = view[written:]
            position += written
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path, offset: int, length: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise NotFound("no such blob") from None
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _delete(paths: list[Path]) -> int:
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            continue
    return deleted
