"""Resumable uploads of encrypted media (docs/protocol.md §8.1). Chunks and downloads are raw bytes,
not JSON: only the bookkeeping is here."""

from __future__ import annotations

from passerelle.proto.rest.base import Answer, Body

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024


class CreateUpload(Body):
    """``POST /v1/media/uploads``: into a conversation (``conv``) or a story of the caller's
    (``story``, §12), exactly one of them."""

    size: int
    conv: str | None = None
    story: str | None = None
    ttl: int | None = None


class UploadState(Answer, frozen=True, kw_only=True):
    """``POST /v1/media/uploads/{blob}/finish``; with ``chunk_bytes``, ``UploadOpened``."""

    blob: str
    conv: str | None = None
    size: int
    offset: int
    complete: bool = False
    expires_at: int = 0


class UploadOpened(UploadState, frozen=True):
    """``POST /v1/media/uploads`` (201) and ``GET /v1/media/uploads/{blob}``."""

    chunk_bytes: int = DEFAULT_CHUNK_BYTES


class ChunkStored(Answer, frozen=True):
    """``PATCH /v1/media/uploads/{blob}``: the bytes stored so far."""

    blob: str
    offset: int
