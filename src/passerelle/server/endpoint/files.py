"""The business endpoint's files in motion (docs/business.md section 6, "Media"): the bot's uploads
(``POST /{phone_number_id}/media``, ``GET``/``DELETE /{media_id}``), a send's image, video, audio,
document or sticker put into the person's conversation as ciphertext, and a person's file kept for
the bot to fetch. The files themselves are kept by the ``MediaShelf`` (``endpoint.media``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import BinaryIO

from passerelle.crypto.attachments import AttachmentInvalid
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.proto.cloud.codec import encode
from passerelle.proto.cloud.messages import Media
from passerelle.proto.cloud.responses import MediaUploaded, MediaUrl, Success
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.sdk import Client
from passerelle.sdk.errors import SdkError
from passerelle.sdk.events import Message
from passerelle.sdk.schema import ReplyRef, TextContent
from passerelle.server.endpoint.cloud import check_media_type, link_name, media_content
from passerelle.server.endpoint.media import (
    MAX_TTL_MINUTES,
    Kind,
    MediaShelf,
    Stored,
    check_magic,
    check_size,
    fetch_link,
    kind_of,
)

log = logging.getLogger("passerelle.endpoint")

MEDIA_AT_ONCE = 4


class EndpointFiles:
    def __init__(self, client: Client, media: MediaShelf, *, hosted: bool) -> None:
        self.client = client
        self.media = media
        self.slots = asyncio.Semaphore(MEDIA_AT_ONCE)
        """Files being received from the bot or put on the server at once (each up to 100 MB on disk
        or in memory): the others wait."""
        self._hosted = hosted
        """A hosted endpoint runs in the operator's process: its ``link`` fetches reach only public
        addresses."""

    # -- a send's file → the person's attachment ----------------------------------------------------

    async def content(
        self,
        member: Media,
        kind: str,
        spec: Kind,
        wamid: str,
        person: BusinessPersonOut,
        reply: ReplyRef | None,
    ) -> TextContent:
        """The uploaded media (``id``) or the file at ``link``, its ciphertext uploaded into the
        person's conversation, its key in the content."""
        temporary = member.id is None
        if member.id is not None:
            try:
                item = self.media.get(member.id)
            except CloudApiError:
                raise CloudApiError(
                    Failure.INVALID_PARAMETER, "is not a media of this business", field=f"{kind}.id"
                ) from None
            check_media_type(item, kind, spec)
        else:
            assert member.link is not None
            source, mime, _size = await fetch_link(member.link, kind=spec, hosted=self._hosted)
            try:
                name = member.filename or link_name(member.link)
                item = await self.media.seal_temporary(source, mime=mime, filename=name)
            finally:
                source.close()
        try:
            blob = await self.blob_for(item, person)
        finally:
            if temporary:
                await self.media.delete(item.id)
        return media_content(member, kind, item, blob, wamid, reply)

    async def blob_for(self, item: Stored, person: BusinessPersonOut) -> str:
        """The ciphertext on the server, in the person's conversation (uploaded once an hour)."""
        conv = f"direct:{person.account_id}"
        blob = self.media.reusable_blob(item, conv)
        if blob is None:
            try:
                async with self.slots:
                    ciphertext = await self.media.read_ciphertext(item)
                    blob = await self.client.media.upload_to(person.account_id, ciphertext)
            except SdkError as exc:
                raise CloudApiError(
                    Failure.MEDIA_UPLOAD, f"the file could not be stored: {exc.message}"
                ) from None
            await self.media.remember_blob(item, conv, blob)
        return blob

    # -- a person's file → the bot --------------------------------------------------------------------

    async def keep(self, message: Message) -> Stored | None:
        """A person's file, kept (as ciphertext) for the bot to fetch with ``GET /{media_id}``; None
        when it cannot be fetched (the bot gets the text instead)."""
        att = message.attachment
        assert att is not None
        assert message.id is not None
        media_id = str(10**16 + int(message.id))
        try:
            if not self.media.has(media_id):
                ciphertext = await self.client.media.blobs.download(att.blob)
                await self.media.add_incoming(
                    media_id,
                    ciphertext,
                    key=att.key,
                    nonce=att.nonce,
                    blob_sha256=att.sha256,
                    size=att.size,
                    mime=att.mime,
                    filename=att.name or None,
                )
            return self.media.get(media_id)
        except (SdkError, CloudApiError, ValueError, AttachmentInvalid) as exc:
            log.warning("a person's file could not be kept for the bot: %s", type(exc).__name__)
            return None

    # -- the bot's media ----------------------------------------------------------------------------

    async def upload(
        self,
        *,
        messaging_product: str | None,
        mime: str | None,
        file: BinaryIO | None,
        size: int,
        filename: str | None,
        ttl_minutes: str | None = None,
    ) -> bytes:
        """``POST /{phone_number_id}/media`` (multipart ``file``, ``type``, ``messaging_product``, and
        pywa's optional ``ttl_minutes``: a shorter life than the 30 days)."""
        if messaging_product != "whatsapp":
            raise CloudApiError(Failure.INVALID_PARAMETER, "must be 'whatsapp'", field="messaging_product")
        if file is None:
            raise CloudApiError(Failure.INVALID_PARAMETER, "is required: the file to upload", field="file")
        if not mime:
            raise CloudApiError(Failure.INVALID_PARAMETER, "is required: the file's MIME type", field="type")
        ttl_ms = None
        if ttl_minutes is not None:
            if not ttl_minutes.strip().isdigit() or not 1 <= int(ttl_minutes) <= MAX_TTL_MINUTES:
                raise CloudApiError(
                    Failure.INVALID_PARAMETER,
                    f"must be a number of minutes from 1 to {MAX_TTL_MINUTES}",
                    field="ttl_minutes",
                )
            ttl_ms = int(ttl_minutes) * 60_000
        kind = kind_of(mime)
        check_size(kind, size)
        clean = mime.split(";")[0].strip().lower()
        head = await asyncio.to_thread(file.read, 16)
        await asyncio.to_thread(file.seek, 0)
        check_magic(clean, head)
        name = (filename or "").replace("/", "_").replace("\\", "_")[:240] or None
        item = await self.media.add_upload(file, mime=clean, size=size, filename=name, ttl_ms=ttl_ms)
        return encode(MediaUploaded(id=item.id))

    def info(self, media_id: str, download_url: str) -> bytes:
        """``GET /{media_id}``: where the bot downloads it (with its token)."""
        item = self.media.get(media_id)
        answer = MediaUrl(
            url=download_url, mime_type=item.mime, sha256=item.sha256, file_size=item.size, id=item.id
        )
        return encode(answer)

    async def delete(self, media_id: str) -> bytes:
        self.media.get(media_id)
        await self.media.delete(media_id)
        return encode(Success())
