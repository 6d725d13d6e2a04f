"""LocalBlobStore: resumable writes, reads, deletes, and no path ever built from a hostile id."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from passerelle.domain.errors import Conflict, NotFound
from passerelle.domain.ids import BlobId
from passerelle.storage.blobs.files import LocalBlobStore

BLOB = BlobId("b_" + "A" * 43)


async def test_writes_at_an_offset_replace_what_lay_beyond(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    await blobs.write(BLOB, offset=0, data=b"hello ")
    await blobs.write(BLOB, offset=6, data=b"wor")  # a partial attempt...
    await blobs.write(BLOB, offset=6, data=b"world")  # ...sent again whole
    assert await blobs.size(BLOB) == 11
    assert await blobs.read(BLOB, offset=0, length=100) == b"hello world"
    assert await blobs.read(BLOB, offset=6, length=3) == b"wor"
    path = blobs.path_of(BLOB)
    assert path.parent.parent == tmp_path / "blobs"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_write_past_the_stored_bytes_is_a_conflict(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(Conflict):
        await blobs.write(BLOB, offset=5, data=b"x")
    await blobs.write(BLOB, offset=0, data=b"abc")
    with pytest.raises(Conflict):
        await blobs.write(BLOB, offset=4, data=b"x")


async def test_missing_blobs_and_deletes(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    assert await blobs.size(BLOB) is None
    with pytest.raises(NotFound):
        await blobs.read(BLOB, offset=0, length=1)
    await blobs.write(BLOB, offset=0, data=b"abc")
    other = BlobId("b_" + "B" * 43)
    assert await blobs.delete([BLOB, other]) == 1
    assert await blobs.size(BLOB) is None
    assert await blobs.delete([]) == 0


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "b_../../x", "b_" + "a" * 10, "x_" + "a" * 43, "b_a/b" * 9]
)
async def test_an_id_that_is_not_a_blob_id_never_becomes_a_path(tmp_path: Path, hostile: str) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(NotFound):
        await blobs.read(BlobId(hostile), offset=0, length=1)
    with pytest.raises(NotFound):
        await blobs.write(BlobId(hostile), offset=0, data=b"x")
    assert not (tmp_path / "blobs").exists()
