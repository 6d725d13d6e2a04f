"""Encrypted media: ``client.media`` sends files, images, videos and voice notes, and fetches them.

```python
sent = await client.media.send_image(bob, photo_bytes, name="beach.jpg", caption="Look!",
                                     thumbnail=small_jpeg, width=1024, height=768)
async for message in client.messages():
    if message.attachment is not None:
        data = await client.media.download(message)     # verified and decrypted
```

Rules
1. Each file gets a fresh random 256-bit key and nonce (``passerelle.crypto.attachments``, format
   in docs/protocol.md §8.3); only its ciphertext is uploaded. The key, nonce, SHA-256 of the
   ciphertext, size, type, name, caption and thumbnail travel inside the Olm-encrypted message.
2. An image's or video's thumbnail is a second blob with its own key.
3. Uploads go in chunks of the size the server announces and are resumable: after a failed chunk
   the SDK asks the server for the upload's offset and goes on from there.
4. ``download`` checks the blob's size and hash against the message before decrypting; a blob that
   does not match raises ``TamperedAttachment`` and nothing of it is returned.
5. Encryption and decryption are CPU-bound and run in a worker thread; so do file reads and writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from passerelle.crypto import b64decode, b64encode
from passerelle.crypto.attachments import AttachmentInvalid, decrypt_file, encrypt_file
from passerelle.domain.ids import AccountId
from passerelle.sdk import schema
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.errors import InvalidInput, SecurityError
from passerelle.sdk.events import Message, SentMessage
from passerelle.sdk.media.transfer import BlobTransfer
from passerelle.sdk.messaging.outbox import Outbox, new_client_id

KINDS = frozenset({"file", "image", "video", "voice"})
MAX_NAME_CHARS = 255
MAX_CAPTION_BYTES = 4096
MAX_WAVEFORM = 256
_OCTETS = "application/octet-stream"


class TamperedAttachment(SecurityError):
    """The blob the server returned is not the one the message described (size, hash or
    authentication failed): it was altered or replaced. Nothing of it is returned."""

    code = "tampered_attachment"


def fallback_text(kind: str, name: str, duration_ms: int | None) -> str:
    """The plain-text stand-in a recipient app without attachments shows (MIMI's alternative)."""
    if kind == "voice":
        seconds = (duration_ms or 0) // 1000
        return f"🎤 Voice note ({seconds // 60}:{seconds % 60:02d})"
    label = {"image": "📷 Photo", "video": "🎬 Video"}.get(kind, "📎 File")
    return f"{label}: {name}" if name else label


class MediaApi:
    """The ``client.media`` facade (one per Client)."""

    def __init__(self, ctx: SdkContext, conversations: ConversationBook, *, outbox: Outbox) -> None:
        self._me = ctx.me
        self.blobs = BlobTransfer(ctx.rest)
        """Uploading and downloading ciphertext (resumable uploads: ``blobs.resume_upload``)."""
        self._outbox = outbox
        self._convs = conversations
        self._now = ctx.now_ms

    # --- sending -------------------------------------------------------------------------------

    async def send_file(
        self,
        to: str,
        data: bytes | Path,
        *,
        name: str = "",
        mime: str = _OCTETS,
        caption: str | None = None,
        ttl: int | None = None,
    ) -> SentMessage:
        """Encrypt ``data`` (bytes, or a file to read), upload it, and send it to ``to`` (an account
        id) in a message. ``name`` defaults to the file's name when ``data`` is a path."""
        return await self._send("file", to, data, name=name, mime=mime, caption=caption, ttl=ttl)

    async def send_image(
        self,
        to: str,
        data: bytes | Path,
        *,
        name: str = "",
        mime: str = "image/jpeg",
        caption: str | None = None,
        width: int | None = None,
        height: int | None = None,
        thumbnail: bytes | None = None,
        thumbnail_mime: str = "image/jpeg",
        thumbnail_size: tuple[int, int] | None = None,
        ttl: int | None = None,
    ) -> SentMessage:
        """An image, with an optional small preview (``thumbnail``, encrypted as a blob of its own)."""
        return await self._send(
            "image",
            to,
            data,
            name=name,
            mime=mime,
            caption=caption,
            ttl=ttl,
            width=width,
            height=height,
            thumbnail=_thumbnail(thumbnail, thumbnail_mime, thumbnail_size),
        )

    async def send_video(
        self,
        to: str,
        data: bytes | Path,
        *,
        name: str = "",
        mime: str = "video/mp4",
        caption: str | None = None,
        duration_ms: int | None = None,
        width: int | None = None,
        height: int | None = None,
        thumbnail: bytes | None = None,
        thumbnail_mime: str = "image/jpeg",
        thumbnail_size: tuple[int, int] | None = None,
        ttl: int | None = None,
    ) -> SentMessage:
        return await self._send(
            "video",
            to,
            data,
            name=name,
            mime=mime,
            caption=caption,
            ttl=ttl,
            width=width,
            height=height,
            duration_ms=duration_ms,
            thumbnail=_thumbnail(thumbnail, thumbnail_mime, thumbnail_size),
        )

    async def send_voice(
        self,
        to: str,
        data: bytes | Path,
        *,
        duration_ms: int,
        waveform: Sequence[int] = (),
        mime: str = "audio/ogg",
        ttl: int | None = None,
    ) -> SentMessage:
        """A voice note; ``waveform`` (at most 256 samples of 0 to 255) is drawn by the receiver."""
        if any(not 0 <= v <= 255 for v in waveform) or len(waveform) > MAX_WAVEFORM:
            raise InvalidInput(f"waveform: at most {MAX_WAVEFORM} samples, each 0 to 255")
        return await self._send(
            "voice",
            to,
            data,
            name="",
            mime=mime,
            caption=None,
            ttl=ttl,
            duration_ms=duration_ms,
            waveform=list(waveform),
        )

    async def _send(
        self,
        kind: str,
        to: str,
        data: bytes | Path,
        *,
        ttl: int | None,
        **details: Any,
    ) -> SentMessage:
        recipient = AccountId(to)
        if recipient == self._me.account_id:
            raise InvalidInput("send to another account; your other devices get a copy anyway")
        conv = await self._convs.direct(self._me.account_id, recipient)
        content = await self.prepare(conv.conv, kind, data, ttl=ttl, **details)
        return await self._outbox.send_content(recipient, content)

    async def upload_to(self, to: str, ciphertext: bytes, *, ttl: int | None = None) -> str:
        """Upload already encrypted bytes into my direct conversation with ``to``; returns the blob
        id (a business endpoint sends one encrypted file to many people this way)."""
        conv = await self._convs.direct(self._me.account_id, AccountId(to))
        return await self.blobs.upload(conv.conv, ciphertext, ttl=ttl)

    async def prepare(
        self,
        conv: str,
        kind: str,
        data: bytes | Path,
        *,
        name: str = "",
        mime: str = _OCTETS,
        caption: str | None = None,
        ttl: int | None = None,
        width: int | None = None,
        height: int | None = None,
        duration_ms: int | None = None,
        waveform: list[int] | None = None,
        thumbnail: Thumbnail | None = None,
    ) -> schema.TextContent:
        """Encrypt and upload a file (and its thumbnail) into ``conv``, and return the message
        content that carries it, ready to be sent by any send path (``send_*`` use the direct one;
        a group send can take it as it is). ``thumbnail``: (bytes, mime, (width, height) or None)."""
        if kind not in KINDS:
            raise InvalidInput(f"kind: one of {', '.join(sorted(KINDS))}")
        if isinstance(data, Path):
            name = name or data.name
            data = await asyncio.to_thread(data.read_bytes)
        if len(name) > MAX_NAME_CHARS:
            raise InvalidInput(f"a file name has at most {MAX_NAME_CHARS} characters")
        if caption is not None and len(caption.encode()) > MAX_CAPTION_BYTES:
            raise InvalidInput(f"a caption has at most {MAX_CAPTION_BYTES} bytes")
        if duration_ms is not None and duration_ms < 0:
            raise InvalidInput("duration_ms must not be negative")
        if ttl is not None and ttl <= 0:
            raise InvalidInput("ttl is a positive number of seconds")
        thumb = None
        if thumbnail is not None:
            thumb_data, thumb_mime, thumb_size = thumbnail
            sealed = await asyncio.to_thread(encrypt_file, thumb_data)
            thumb = schema.Thumbnail(
                blob=await self.blobs.upload(conv, sealed.blob, ttl=ttl),
                mime=thumb_mime,
                size=sealed.size,
                key=b64encode(sealed.key),
                nonce=b64encode(sealed.nonce),
                sha256=b64encode(sealed.sha256),
                width=thumb_size[0] if thumb_size else None,
                height=thumb_size[1] if thumb_size else None,
            )
        sealed = await asyncio.to_thread(encrypt_file, data)
        blob = await self.blobs.upload(conv, sealed.blob, ttl=ttl)
        attachment = schema.Attachment(
            kind=kind,
            blob=blob,
            mime=mime,
            size=sealed.size,
            key=b64encode(sealed.key),
            nonce=b64encode(sealed.nonce),
            sha256=b64encode(sealed.sha256),
            name=name,
            width=width,
            height=height,
            duration_ms=duration_ms,
            waveform=waveform,
            thumbnail=thumb,
        )
        return schema.TextContent(
            id=new_client_id(),
            ts=self._now(),
            body=caption if caption else fallback_text(kind, name, duration_ms),
            msgtype=kind,
            ttl=ttl,
            attachment=attachment,
        )

    # --- receiving -----------------------------------------------------------------------------

    async def download(self, message: Message | schema.Attachment) -> bytes:
        """Fetch, verify and decrypt a message's attachment.

        Raises:
            TamperedAttachment: the blob is not the one the message described.
            NotFound: expired, or not shared with me.  InvalidInput: the message has no attachment.
        """
        att = _attachment(message)
        return await fetch_verified(
            self.blobs, att.blob, key=att.key, nonce=att.nonce, sha256=att.sha256, size=att.size
        )

    async def download_thumbnail(self, message: Message | schema.Attachment) -> bytes:
        """Fetch, verify and decrypt an image's or video's preview."""
        thumb = _attachment(message).thumbnail
        if thumb is None:
            raise InvalidInput("this attachment has no thumbnail")
        return await fetch_verified(
            self.blobs, thumb.blob, key=thumb.key, nonce=thumb.nonce, sha256=thumb.sha256, size=thumb.size
        )

    async def save(self, message: Message | schema.Attachment, path: Path) -> Path:
        """Download the attachment into ``path`` (a file this call creates or replaces). The sender's
        file name is never used as a path; the caller chooses it (``attachment.name`` may help)."""
        data = await self.download(message)
        target = Path(path)
        await asyncio.to_thread(target.write_bytes, data)
        return target


async def fetch_verified(
    blobs: BlobTransfer, blob: str, *, key: str, nonce: str, sha256: str, size: int, what: str = "attachment"
) -> bytes:
    """Download ``blob``, check it against the size and SHA-256 its message (or story) gave, and
    decrypt it. Raises TamperedAttachment when it is not the blob that was described."""
    try:
        secrets_ = (b64decode(key), b64decode(nonce), b64decode(sha256))
    except ValueError as exc:
        raise TamperedAttachment(f"the {what}'s key material is malformed") from exc
    ciphertext = await blobs.download(blob)
    try:
        return await asyncio.to_thread(
            decrypt_file,
            ciphertext,
            key=secrets_[0],
            nonce=secrets_[1],
            sha256=secrets_[2],
            size=size,
        )
    except AttachmentInvalid as exc:
        raise TamperedAttachment(str(exc)) from exc


Thumbnail = tuple[bytes, str, tuple[int, int] | None]
"""A preview to encrypt and upload with an image or video: its bytes, type and (width, height)."""


def _thumbnail(data: bytes | None, mime: str, size: tuple[int, int] | None) -> Thumbnail | None:
    return (data, mime, size) if data is not None else None


def _attachment(message: Message | schema.Attachment) -> schema.Attachment:
    if isinstance(message, schema.Attachment):
        return message
    if message.attachment is None:
        raise InvalidInput("this message has no attachment")
    return message.attachment
