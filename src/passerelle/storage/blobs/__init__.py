"""Adapters of the ``BlobStore`` port (media ciphertext): ``LocalBlobStore`` on local files (one node,
the embedded default) and ``S3BlobStore`` on S3-compatible object storage (several nodes)."""

from __future__ import annotations

from pathlib import Path

from passerelle.service.ports import BlobStore
from passerelle.storage.blobs.files import LocalBlobStore

__all__ = ["LocalBlobStore", "open_blobs"]


def open_blobs(
    url: str,
    *,
    data_dir: Path,
    s3_endpoint: str = "",
    s3_region: str = "",
    s3_access_key_id: str = "",
    s3_secret_access_key: str = "",
) -> BlobStore:
    """The blob store a ``blob_url`` setting names: empty or ``file:`` is ``<data_dir>/blobs``,
    ``file:///some/folder`` that folder, ``s3://bucket/prefix`` object storage (the other arguments
    say how to reach it; empty ones come from the ``AWS_*`` environment variables)."""
    if url.startswith("s3://"):
        from passerelle.storage.blobs.s3 import S3BlobStore, S3Location

        return S3BlobStore(
            S3Location.parse(
                url,
                endpoint=s3_endpoint,
                region=s3_region,
                access_key_id=s3_access_key_id,
                secret_access_key=s3_secret_access_key,
            )
        )
    if url in ("", "file:", "local"):
        return LocalBlobStore(data_dir / "blobs")
    if url.startswith("file://"):
        return LocalBlobStore(Path(url.removeprefix("file://")))
    raise ValueError("blob_url: expected nothing, file:///folder or s3://bucket/prefix")
