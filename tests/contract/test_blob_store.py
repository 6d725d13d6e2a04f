"""The BlobStore port's contract, run on both adapters: the local directory and S3 (moto).

Each test gets ``make``, which opens a store on one shared location: two stores made by it are two
nodes looking at the same blobs (the same folder, or the same bucket and prefix).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from passerelle.domain.errors import Conflict, NotFound
from passerelle.domain.ids import BlobId
from passerelle.service.ports import BlobStore
from passerelle.storage.blobs import open_blobs_at
from tests.moto_s3 import CREDENTIALS, REGION, new_bucket

Make = Callable[[], BlobStore]


def blob_id() -> BlobId:
    return BlobId("b_" + secrets.token_urlsafe(32))


@pytest.fixture(params=["files", "s3"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    if request.param == "files":
        url = f"file://{tmp_path / 'blobs'}"
        return lambda: open_blobs_at(url, data_dir=tmp_path)
    endpoint: str = request.getfixturevalue("s3_endpoint")
    url = f"s3://{new_bucket(endpoint)}/media/node-shared"
    return lambda: open_blobs_at(
        url,
        data_dir=tmp_path,
        s3_endpoint=endpoint,
        s3_region=REGION,
        s3_access_key_id=CREDENTIALS["access_key_id"],
        s3_secret_access_key=CREDENTIALS["secret_access_key"],
    )


async def test_writes_at_an_offset_replace_what_lay_beyond(make: Make) -> None:
    blobs, blob = make(), blob_id()
    await blobs.write(blob, offset=0, data=b"hello ")
    await blobs.write(blob, offset=6, data=b"wor")  # a partial attempt...
    await blobs.write(blob, offset=6, data=b"world")  # ...sent again whole
    assert await blobs.size(blob) == 11
    assert await blobs.read(blob, offset=0, length=100) == b"hello world"
    assert await blobs.read(blob, offset=6, length=3) == b"wor"
    assert await blobs.read(blob, offset=4, length=4) == b"o wo"  # across two chunks
    assert await blobs.read(blob, offset=11, length=5) == b""  # at the end: nothing more


async def test_a_write_inside_a_chunk_cuts_it_and_drops_what_followed(make: Make) -> None:
    blobs, blob = make(), blob_id()
    await blobs.write(blob, offset=0, data=b"abcdef")
    await blobs.write(blob, offset=6, data=b"ghij")
    await blobs.write(blob, offset=3, data=b"XY")
    assert await blobs.size(blob) == 5
    assert await blobs.read(blob, offset=0, length=100) == b"abcXY"
    await blobs.write(blob, offset=0, data=b"new")  # the whole upload again
    assert await blobs.read(blob, offset=0, length=100) == b"new"


async def test_a_write_past_the_stored_bytes_is_a_conflict(make: Make) -> None:
    blobs, blob = make(), blob_id()
    with pytest.raises(Conflict):
        await blobs.write(blob, offset=5, data=b"x")
    assert await blobs.size(blob) is None
    await blobs.write(blob, offset=0, data=b"abc")
    with pytest.raises(Conflict):
        await blobs.write(blob, offset=4, data=b"x")
    with pytest.raises(ValueError, match="negative"):
        await blobs.write(blob, offset=-1, data=b"x")
    assert await blobs.read(blob, offset=0, length=10) == b"abc"


async def test_an_empty_first_write_makes_an_empty_blob(make: Make) -> None:
    blobs, blob = make(), blob_id()
    await blobs.write(blob, offset=0, data=b"")
    assert await blobs.size(blob) == 0
    assert await blobs.read(blob, offset=0, length=10) == b""


async def test_missing_blobs_and_deletes_are_idempotent(make: Make) -> None:
    blobs, blob, other = make(), blob_id(), blob_id()
    assert await blobs.size(blob) is None
    with pytest.raises(NotFound):
        await blobs.read(blob, offset=0, length=1)
    await blobs.write(blob, offset=0, data=b"abc")
    await blobs.write(blob, offset=3, data=b"def")
    assert await blobs.delete([blob, other]) == 1
    assert await blobs.size(blob) is None
    with pytest.raises(NotFound):
        await blobs.read(blob, offset=0, length=1)
    assert await blobs.delete([blob, other]) == 0
    assert await blobs.delete([]) == 0


async def test_another_node_sees_the_blob_and_its_deletion(make: Make) -> None:
    a, b, blob = make(), make(), blob_id()
    data = secrets.token_bytes(300_000)
    for at in range(0, len(data), 64 * 1024):
        await a.write(blob, offset=at, data=data[at : at + 64 * 1024])
    assert await b.size(blob) == len(data)
    read = b""
    while len(read) < len(data):
        read += await b.read(blob, offset=len(read), length=100_000)
    assert read == data
    assert await a.delete([blob]) == 1
    assert await b.size(blob) is None
    with pytest.raises(NotFound):
        await b.read(blob, offset=0, length=1)


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "b_../../x", "b_" + "a" * 10, "x_" + "a" * 43, "b_a/b" * 9]
)
async def test_an_id_that_is_not_a_blob_id_is_never_found(make: Make, hostile: str) -> None:
    blobs = make()
    with pytest.raises(NotFound):
        await blobs.read(BlobId(hostile), offset=0, length=1)
    with pytest.raises(NotFound):
        await blobs.write(BlobId(hostile), offset=0, data=b"x")
    with pytest.raises(NotFound):
        await blobs.size(BlobId(hostile))
