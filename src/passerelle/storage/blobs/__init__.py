"""Adapters of the ``BlobStore`` port (media ciphertext): ``LocalBlobStore`` on local files."""

from __future__ import annotations

from passerelle.storage.blobs.files import LocalBlobStore

__all__ = ["LocalBlobStore"]
