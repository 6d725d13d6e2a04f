"""Moving encrypted blobs to and from the server (docs/protocol.md §8.1, §8.2): resumable,
chunked uploads and downloads. Only ciphertext passes through here; ``sdk.media`` encrypts and
decrypts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TypeVar
from urllib.parse import quote

import msgspec

from passerelle.domain.ids import ConversationId
from passerelle.proto.rest import media as wire
from passerelle.proto.rest.media import ChunkStored, UploadOpened
from passerelle.sdk import schema
from passerelle.sdk.errors import Conflict, InvalidInput, SdkError, Unavailable
from passerelle.sdk.rest import RestApi

logger = logging.getLogger(__name__)
T = TypeVar("T")
UPLOAD_RETRIES = 5


UploadState = UploadOpened
"""``POST /v1/media/uploads`` and ``GET /v1/media/uploads/{blob}`` (§8.1)."""


def _path(blob: str, suffix: str = "") -> str:
    return f"/v1/media/uploads/{quote(blob, safe='')}{suffix}"


class BlobTransfer:
    """The media endpoints for one device."""

    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def upload(self, conv: str, ciphertext: bytes, *, ttl: int | None = None) -> str:
        """Upload already encrypted bytes into a conversation of mine; returns the blob id once the
        server has all of it. ``send_*`` call this; it is public for resuming and for tools."""
        return await self._upload(
            wire.CreateUpload(conv=ConversationId(conv), size=len(ciphertext), ttl=ttl), ciphertext
        )

    async def upload_story(self, story: str, ciphertext: bytes) -> str:
        """Upload the already encrypted file of a story of mine (§12)."""
        return await self._upload(wire.CreateUpload(story=story, size=len(ciphertext)), ciphertext)

    async def _upload(self, body: wire.CreateUpload, ciphertext: bytes) -> str:
        response = await self._rest.raw(
            "POST",
            "/v1/media/uploads",
            content=schema.encode(body),
            headers={"content-type": "application/json"},
        )
        state = _decode(response.content, UploadState)
        return await self.resume_upload(state.blob, ciphertext, state=state)

    async def resume_upload(self, blob: str, ciphertext: bytes, *, state: UploadState | None = None) -> str:
        """Finish an upload that was cut off: ask the server how much it has, send the rest, and
        close it. ``ciphertext`` is the whole of what was being uploaded."""
        state = state or await self.upload_state(blob)
        if state.size != len(ciphertext):
            raise InvalidInput("the bytes to upload do not have the upload's declared size")
        offset, chunk = state.offset, max(1, state.chunk_bytes)
        failures = 0
        while offset < len(ciphertext) and not state.complete:
            part = ciphertext[offset : offset + chunk]
            try:
                response = await self._rest.raw(
                    "PATCH",
                    _path(blob),
                    content=part,
                    headers={"upload-offset": str(offset), "content-type": "application/offset+octet-stream"},
                )
                offset = _decode(response.content, ChunkStored).offset
                failures = 0
            except (Unavailable, Conflict) as exc:
                failures += 1
                if failures > UPLOAD_RETRIES:
                    raise
                logger.info("an upload chunk failed (%s); resuming from the server's offset", exc.code)
                await asyncio.sleep(min(0.05 * 2**failures, 2.0))
                offset = (await self.upload_state(blob)).offset
        response = await self._rest.raw("POST", _path(blob, "/finish"))
        return _decode(response.content, wire.UploadState).blob

    async def upload_state(self, blob: str) -> UploadState:
        """An upload of mine as the server has it: its size and how many bytes arrived."""
        return _decode((await self._rest.raw("GET", _path(blob))).content, UploadState)

    async def download(self, blob: str) -> bytes:
        """The blob's bytes, as the server has them (check them before trusting them)."""
        return (await self._rest.raw("GET", f"/v1/media/{quote(blob, safe='')}")).content


def _decode(raw: bytes, kind: type[T]) -> T:
    try:
        return schema.decode(raw, kind)
    except msgspec.MsgspecError as exc:
        raise SdkError(f"unexpected answer from the media endpoints: {exc}") from exc
