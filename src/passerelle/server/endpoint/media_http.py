"""The media calls' HTTP side, shared by the self-run endpoint's API and the server's Graph routes
(hosted endpoints): reading a multipart upload without holding it in memory, and answering a
download as the file, decrypted a segment at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.server.endpoint.media import MAX_FILE_BYTES, MediaShelf, media_error

MEDIA_UPLOAD_PATH = re.compile(r"^(?:/v\d{1,3}\.\d{1,3})?/\d{1,32}/media/?$")
"""``POST /{phone_number_id}/media``: exempt from the small request-body limit, bounded here."""
MAX_UPLOAD_BODY = MAX_FILE_BYTES + 64 * 1024
"""The largest file (a 100 MB document) and its multipart envelope."""
FILE_EDGE = "file"
"""``GET /{media_id}/file``: the download URL ``GET /{media_id}`` gives."""


@dataclass(slots=True)
class UploadForm:
    messaging_product: str | None
    mime: str | None
    file: BinaryIO | None
    size: int
    filename: str | None
    ttl_minutes: str | None = None


async def read_upload(request: Request) -> tuple[UploadForm, UploadFile | None]:
    """The multipart body of an upload, its file spooled to a temporary file by Starlette (1 MiB in
    memory at most); the body may not exceed ``MAX_UPLOAD_BODY``. Close the UploadFile after."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BODY:
        raise media_error(f"file: the request is over the largest media ({MAX_FILE_BYTES} bytes)")
    seen = 0
    receive = request.receive

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_UPLOAD_BODY:
                raise media_error(f"file: the request is over the largest media ({MAX_FILE_BYTES} bytes)")
        return message

    capped = Request(request.scope, counting)
    if not capped.headers.get("content-type", "").startswith("multipart/form-data"):
        raise CloudApiError(Failure.INVALID_PARAMETER, "must be multipart/form-data", field="body")
    try:
        form = await capped.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    except HTTPException as exc:
        raise CloudApiError(
            Failure.INVALID_PARAMETER, f"is not a valid multipart body: {exc.detail}", field="body"
        ) from None
    upload = form.get("file")
    product, mime, ttl = form.get("messaging_product"), form.get("type"), form.get("ttl_minutes")
    if not isinstance(upload, UploadFile):
        upload = None
    return (
        UploadForm(
            messaging_product=product if isinstance(product, str) else None,
            mime=mime if isinstance(mime, str) else None,
            file=upload.file if upload is not None else None,
            size=(upload.size or 0) if upload is not None else 0,
            filename=upload.filename if upload is not None else None,
            ttl_minutes=ttl if isinstance(ttl, str) else None,
        ),
        upload,
    )


def download_url(request: Request, media_id: str) -> str:
    """Where the bot fetches the file: this host (as the bot reached it), ``/{media_id}/file``."""
    return f"{request.url.scheme}://{request.url.netloc}/{media_id}/{FILE_EDGE}"


async def download(shelf: MediaShelf, media_id: str) -> Response:
    """The file, checked against its hash first, then decrypted as it is sent."""
    item = shelf.get(media_id)
    await shelf.verify(item)
    headers = {"Content-Length": str(item.size)}
    if item.filename:
        safe = re.sub(r"[^A-Za-z0-9._ -]", "_", item.filename)[:200]
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return StreamingResponse(shelf.plaintext(item), media_type=item.mime, headers=headers)
