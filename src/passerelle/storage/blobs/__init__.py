"""Adapters of the ``BlobStore`` port (media ciphertext): ``LocalBlobStore`` on local files (one node,
the embedded default) and ``S3BlobStore`` on S3-compatible object storage (several nodes)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from passerelle.service.ports import BlobStore
from passerelle.storage.blobs.files import LocalBlobStore

__all__ = ["BlobSettings", "LocalBlobStore", "local_blob_root", "open_blobs", "open_blobs_at"]


class BlobSettings(Protocol):
    """What choosing the blob store reads from the settings (``config.Settings`` is one)."""

    @property
    def blob_url(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def s3_endpoint(self) -> str: ...
    @property
    def s3_region(self) -> str: ...
    @property
    def s3_access_key_id(self) -> str: ...
    @property
    def s3_secret_access_key(self) -> str: ...


def open_blobs(settings: BlobSettings) -> BlobStore:
    """The blob store the settings name (``blob_url`` and the ``s3_*`` settings)."""
    return open_blobs_at(
        settings.blob_url,
        data_dir=settings.data_dir,
        s3_endpoint=settings.s3_endpoint,
        s3_region=settings.s3_region,
        s3_access_key_id=settings.s3_access_key_id,
        s3_secret_access_key=settings.s3_secret_access_key,
    )


def open_blobs_at(
    url: str,
    *,
    data_dir: Path,
    s3_endpoint: str = "",
    s3_region: str = "",
    s3_access_key_id: str = "",
    s3_secret_access_key: str = "",
) -> BlobStore:
    """The blob store a ``blob_url`` names: empty or ``file:`` is ``<data_dir>/blobs``,
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
    root = local_blob_root(url, data_dir=data_dir)
    assert root is not None
    return LocalBlobStore(root)


def local_blob_root(url: str, *, data_dir: Path) -> Path | None:
    """The folder a ``blob_url`` keeps blobs in: ``<data_dir>/blobs`` for an empty one or
    ``file:``, the folder of ``file:///folder``; None for object storage (``s3://``)."""
    if url.startswith("s3://"):
        return None
    if url in ("", "file:", "local"):
        return data_dir / "blobs"
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    raise ValueError("blob_url: expected nothing, file:///folder or s3://bucket/prefix")
