"""What only the S3 adapter does: multipart uploads, its key layout, its settings and its errors
(the shared behaviour is in test_blob_store.py)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import obstore
import pytest

from passerelle.config import ConfigError, load_settings
from passerelle.domain.errors import NotFound, Unavailable
from passerelle.domain.ids import BlobId
from passerelle.storage.blobs import LocalBlobStore, open_blobs, open_blobs_at
from passerelle.storage.blobs.s3 import MIN_PART_BYTES, S3BlobStore, S3Location
from tests.moto_s3 import CREDENTIALS, REGION, bucket_view, new_bucket

MIB = 1024 * 1024


def location(endpoint: str, bucket: str, prefix: str = "media") -> S3Location:
    return S3Location(
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint,
        region=REGION,
        access_key_id=CREDENTIALS["access_key_id"],
        secret_access_key=CREDENTIALS["secret_access_key"],
    )


async def test_a_large_chunk_goes_up_as_a_multipart_upload_and_comes_back_in_ranges(s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint)
    blobs = S3BlobStore(location(s3_endpoint, bucket), part_bytes=MIN_PART_BYTES)
    blob = BlobId("b_" + secrets.token_urlsafe(32))
    data = secrets.token_bytes(3 * MIN_PART_BYTES + 123_456)  # four parts at the smallest part size
    await blobs.write(blob, offset=0, data=data)
    await blobs.write(blob, offset=len(data), data=b"tail")
    assert await blobs.size(blob) == len(data) + 4
    [first, second] = await obstore.list(
        bucket_view(s3_endpoint, bucket), "media/", chunk_size=1000
    ).collect_async()
    name = str(blob)
    assert first["path"] == f"media/{name[2:4]}/{name}/{0:015d}"
    assert second["path"] == f"media/{name[2:4]}/{name}/{len(data):015d}"
    assert first["size"] == len(data)
    assert (first["e_tag"] or "").strip('"').endswith("-4")  # S3 names a multipart object's parts
    got = bytearray()
    while len(got) < len(data) + 4:
        got += await blobs.read(blob, offset=len(got), length=MIB)
    assert bytes(got) == data + b"tail"
    assert await blobs.read(blob, offset=len(data) - 2, length=6) == data[-2:] + b"tail"


async def test_a_second_node_reads_what_the_first_wrote_under_the_same_prefix_only(s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint)
    a = S3BlobStore(location(s3_endpoint, bucket, "deploy/one"))
    b = S3BlobStore(location(s3_endpoint, bucket, "deploy/one"))
    elsewhere = S3BlobStore(location(s3_endpoint, bucket, "deploy/two"))
    blob = BlobId("b_" + secrets.token_urlsafe(32))
    await a.write(blob, offset=0, data=b"ciphertext")
    assert await b.read(blob, offset=0, length=100) == b"ciphertext"
    assert await elsewhere.size(blob) is None


async def test_an_unreachable_object_store_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    blobs = S3BlobStore(location("http://127.0.0.1:9", "nowhere"))  # the discard port: nothing listens
    blob = BlobId("b_" + secrets.token_urlsafe(32))
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        await blobs.size(blob)
    assert time.monotonic() - started < 30
    assert CREDENTIALS["secret_access_key"] not in str(caught.value)
    with pytest.raises(Unavailable):
        await blobs.write(blob, offset=0, data=b"x")


async def test_a_missing_bucket_is_unavailable_and_a_missing_blob_not_found(s3_endpoint: str) -> None:
    blob = BlobId("b_" + secrets.token_urlsafe(32))
    with pytest.raises(Unavailable):
        await S3BlobStore(location(s3_endpoint, "no-such-bucket-here")).write(blob, offset=0, data=b"x")
    blobs = S3BlobStore(location(s3_endpoint, new_bucket(s3_endpoint)))
    with pytest.raises(NotFound):
        await blobs.read(blob, offset=0, length=1)


def test_the_blob_url_setting_chooses_the_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_S3_SECRET_ACCESS_KEY", "very-secret-value")
    with pytest.raises(ValueError, match="cannot be set up") as caught:  # a secret without its key id
        open_blobs_at("s3://b", data_dir=tmp_path, s3_secret_access_key="very-secret-value")
    assert "very-secret-value" not in str(caught.value)
    monkeypatch.setenv("PASSERELLE_S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    settings = load_settings(
        None, data_dir=tmp_path, blob_url="s3://media-bucket/prod/blobs", s3_endpoint="https://s3.example"
    )
    assert "very-secret-value" not in repr(settings)
    store = open_blobs(settings)
    assert isinstance(store, S3BlobStore)
    assert (store.location.bucket, store.location.prefix) == ("media-bucket", "prod/blobs")
    assert "very-secret-value" not in repr(store.location)
    assert store.location.endpoint == "https://s3.example"
    assert store.location.secret_access_key == "very-secret-value"
    local = open_blobs(load_settings(None, data_dir=tmp_path))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "blobs"
    elsewhere = open_blobs_at(f"file://{tmp_path / 'shared'}", data_dir=tmp_path)
    assert isinstance(elsewhere, LocalBlobStore) and elsewhere.root == tmp_path / "shared"
    with pytest.raises(ConfigError, match="blob_url"):
        load_settings(None, data_dir=tmp_path, blob_url="ftp://somewhere")
    with pytest.raises(ConfigError, match="its value not shown"):
        load_settings(None, data_dir=tmp_path, s3_secret_access_key=12)
    with pytest.raises(ValueError, match="names its bucket"):
        S3Location.parse("s3:///no-bucket")
