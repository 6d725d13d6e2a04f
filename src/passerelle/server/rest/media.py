"""REST endpoints of encrypted media (docs/protocol.md §8): resumable uploads and streamed downloads.

Upload chunks are exempt from the 64 KiB BodyLimit (``UPLOAD_PREFIX``): this module reads them
itself, refusing a chunk over ``blob_chunk_bytes`` before keeping more than that in memory. Bodies
are ciphertext and are never logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from msgspec.structs import asdict
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from passerelle.domain.errors import InvalidInput, TooLarge
from passerelle.domain.ids import BlobId, ConversationId
from passerelle.proto.openapi import Param, Raw
from passerelle.proto.rest import media as wire
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.media.media import MediaService, parse_blob_id
from passerelle.service.records import BlobRecord

UPLOAD_PREFIX = "/v1/media/uploads/"
"""Paths under here carry raw chunks: ``server.app`` exempts them from the JSON body limit."""
OFFSET_HEADER = "upload-offset"
UploadOffset = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,15}$")]
TAG = "Media"


def upload_json(record: BlobRecord) -> wire.UploadState:
    return wire.UploadState(
        blob=record.id,
        conv=record.conv,
        size=record.size,
        offset=record.received,
        complete=record.complete,
        expires_at=record.expires_at,
    )


def opened_json(record: BlobRecord, chunk_bytes: int) -> wire.UploadOpened:
    """An upload being written, with the chunk size the server takes."""
    return wire.UploadOpened(**asdict(upload_json(record)), chunk_bytes=chunk_bytes)


class MediaRoutes:
    def __init__(self, *, accounts: AccountService, media: MediaService) -> None:
        self._accounts = accounts
        self._media = media

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/media/uploads",
                self.create,
                body=wire.CreateUpload,
                answers={201: wire.UploadOpened},
                tag=TAG,
                summary="Open a resumable upload",
            ),
            route(
                "GET",
                "/v1/media/uploads/{blob}",
                self.status,
                answers={200: wire.UploadOpened},
                tag=TAG,
                summary="An upload's state (where to resume)",
            ),
            route(
                "PATCH",
                "/v1/media/uploads/{blob}",
                self.chunk,
                body=Raw(),
                answers={200: wire.ChunkStored},
                headers={
                    "Upload-Offset": Param(
                        UploadOffset, required=True, description="Where this chunk starts, in bytes"
                    )
                },
                tag=TAG,
                summary="Append a chunk of ciphertext",
            ),
            route(
                "DELETE",
                "/v1/media/uploads/{blob}",
                self.cancel,
                answers={204: None},
                tag=TAG,
                summary="Cancel an upload",
            ),
            route(
                "POST",
                "/v1/media/uploads/{blob}/finish",
                self.finish,
                answers={200: wire.UploadState},
                tag=TAG,
                summary="Finish an upload (every byte received)",
            ),
            route(
                "GET",
                "/v1/media/{blob}",
                self.download,
                answers={200: Raw(description="The ciphertext")},
                tag=TAG,
                summary="Download a finished blob",
            ),
        ]

    @endpoint
    async def create(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        body = await read_body(request, wire.CreateUpload)
        if (body.conv is None) == (body.story is None):
            raise InvalidInput("name either the conversation (conv) or the story (story) to upload into")
        container = body.conv if body.conv is not None else body.story
        record = await self._media.create_upload(
            caller.account, ConversationId(container or ""), size=body.size, ttl_s=body.ttl
        )
        return json_response(opened_json(record, self._media.chunk_bytes), status=201)

    @endpoint
    async def status(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        record = await self._media.upload_status(caller.account, parse_blob_id(request.path_params["blob"]))
        return json_response(opened_json(record, self._media.chunk_bytes))

    @endpoint
    async def chunk(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        blob = parse_blob_id(request.path_params["blob"])
        offset = _offset(request)
        data = await self._read_chunk(request)
        if data is None:
            return Response(status_code=400)  # the client went away mid-chunk: nothing was kept
        received = await self._media.write_chunk(caller.account, blob, offset=offset, data=data)
        return json_response(wire.ChunkStored(blob=blob, offset=received))

    @endpoint
    async def finish(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        record = await self._media.finish(caller.account, parse_blob_id(request.path_params["blob"]))
        return json_response(upload_json(record))

    @endpoint
    async def cancel(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        await self._media.cancel(caller.account, parse_blob_id(request.path_params["blob"]))
        return Response(status_code=204)

    @endpoint
    async def download(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        blob = parse_blob_id(request.path_params["blob"])
        _, size = await self._media.open_download(caller.account, blob)
        return StreamingResponse(
            self._stream(blob, size),
            media_type="application/octet-stream",
            headers={"content-length": str(size), "cache-control": "private, no-store"},
        )

    async def _stream(self, blob: BlobId, size: int) -> AsyncIterator[bytes]:
        async for chunk in self._media.read_chunks(blob, size):
            yield chunk

    async def _read_chunk(self, request: Request) -> bytes | None:
        limit = self._media.chunk_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"an upload chunk is limited to {limit} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise TooLarge(f"an upload chunk is limited to {limit} bytes")
                parts.append(part)
        except ClientDisconnect:
            return None
        return b"".join(parts)


def _offset(request: Request) -> int:
    raw = request.headers.get(OFFSET_HEADER, "")
    if not raw.isdigit() or len(raw) > 15:
        raise InvalidInput("send the chunk's offset in the Upload-Offset header (a whole number of bytes)")
    return int(raw)
