"""The business endpoint's media (docs/business.md section 6, "Media"): what a bot uploads
(``POST /{phone_number_id}/media``), what people send the business, and what a send by ``link``
fetches.

Rules:
- Types and sizes are the Cloud API's (``KINDS``): a file's declared type picks its kind; a bigger
  file or another type is ``131053`` naming the limit. The first bytes of images, stickers, videos and
  PDFs must match their declared type.
- A file is encrypted once, as it arrives (the network's attachment encryption,
  ``crypto.attachments.encrypt_path``, one 1 MiB segment in memory at a time), into the endpoint's own
  data directory: ``<data_dir>/media/<id>.bin`` (ciphertext) and ``<id>.json`` (its key, hashes, type,
  name, expiry). The server holds a file only once the endpoint sends it to a person: the ciphertext
  is uploaded into that person's conversation (the server lets only a conversation's members fetch a
  blob), and the same ciphertext is reused for that conversation for an hour.
- What the endpoint holds is bounded (``MediaBounds``): uploads by count and bytes (a full shelf
  refuses an upload with ``131053``), people's files by count and bytes (the oldest go first), and
  every file expires after 30 days (Meta keeps uploaded media 30 days).
- Ids are digits (Graph object ids): 16 random digits for an upload, ``1`` followed by 16 digits of
  the message's server id for a person's file (the same id when a restart hands the message on
  again).
- A ``link`` is fetched with httpx: http and https only, at most 3 redirects, each checked again,
  bounded in time and size. A hosted endpoint (in the operator's process) refuses hosts that resolve
  to loopback, private, link-local or otherwise non-public addresses, and connects to the address it
  checked (``Host`` and the TLS server name stay the link's), so DNS rebinding cannot move it.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import mimetypes
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx
import msgspec

from passerelle.crypto import b64decode, b64encode
from passerelle.crypto.attachments import (
    SEGMENT_BYTES,
    TAG_BYTES,
    AttachmentInvalid,
    SealedFile,
    check_blob,
    decrypt_file,
    decrypt_segment,
    encrypt_path,
    segment_count,
)
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.storage.private_files import private_dir

log = logging.getLogger("passerelle.endpoint.media")

MB = 1024 * 1024
DAY_MS = 24 * 3600 * 1000
REUSE_MS = 3600 * 1000
"""How long a ciphertext uploaded into a conversation is sent again instead of uploaded again."""
MAX_CONVS_PER_MEDIA = 1_000
MAX_TTL_MINUTES = 30 * 24 * 60
LINK_TIMEOUT_S = 30.0
LINK_REDIRECTS = 3
LINK_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    mimes: frozenset[str]
    max_bytes: int
    caption: bool


KINDS: dict[str, Kind] = {
    "image": Kind("image", frozenset({"image/jpeg", "image/png"}), 5 * MB, True),
    "video": Kind("video", frozenset({"video/mp4", "video/3gpp"}), 16 * MB, True),
    "audio": Kind(
        "audio",
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
        False,
    ),
    "document": Kind(
        "document",
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * MB,
        True,
    ),
    "sticker": Kind("sticker", frozenset({"image/webp"}), 500 * 1024, False),
}
"""The Cloud API's media types and sizes (a sticker: 100 KB static, 500 KB animated; one bound here)."""
KIND_OF_MIME: dict[str, Kind] = {mime: kind for kind in KINDS.values() for mime in kind.mimes}
MAX_FILE_BYTES = max(kind.max_bytes for kind in KINDS.values())
SDK_KIND = {"image": "image", "video": "video", "audio": "file", "document": "file", "sticker": "image"}
"""How each Cloud API kind travels as a network attachment (``schema.Attachment.kind``)."""


def media_error(details: str) -> CloudApiError:
    return CloudApiError(Failure.MEDIA_UPLOAD, details)


def kind_of(mime: str, *, field: str = "type") -> Kind:
    found = KIND_OF_MIME.get(mime.split(";")[0].strip().lower())
    if found is None:
        raise media_error(
            f"{field}: {mime[:80]!r} is not a supported media type; supported: "
            + ", ".join(sorted(KIND_OF_MIME))
        )
    return found


def check_size(kind: Kind, size: int) -> None:
    if size > kind.max_bytes:
        raise media_error(f"file: {size} bytes is over the {kind.name} limit of {_human(kind.max_bytes)}")
    if size == 0:
        raise media_error("file: the file is empty")


def check_magic(mime: str, head: bytes) -> None:
    """The first bytes of an image, sticker, video or PDF must be of its declared type."""
    expected = {
        "image/jpeg": head.startswith(b"\xff\xd8\xff"),
        "image/png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "video/mp4": head[4:8] == b"ftyp",
        "video/3gpp": head[4:8] == b"ftyp",
        "application/pdf": head.startswith(b"%PDF-"),
    }.get(mime)
    if expected is False:
        raise media_error(f"file: the file's content is not {mime}")


def _human(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // 1024} KB"


class Stored(msgspec.Struct, kw_only=True):
    """One media the endpoint holds (its ``<id>.json``). Keys are unpadded base64."""

    id: str
    origin: str
    """``upload`` (the bot's) or ``incoming`` (a person's)."""
    mime: str
    size: int
    sha256: str
    """The plaintext's SHA-256, hex (the Cloud API's ``sha256``)."""
    key: str
    nonce: str
    blob_sha256: str
    filename: str | None = None
    created_ms: int
    expires_ms: int
    convs: dict[str, tuple[str, int]] = {}
    """Conversation → (blob id on the server, when it was uploaded)."""

    @property
    def blob_size(self) -> int:
        return self.size + TAG_BYTES * segment_count(self.size)


@dataclass(frozen=True, slots=True)
class MediaBounds:
    max_uploads: int = 1_000
    max_upload_bytes: int = 2048 * MB
    max_incoming: int = 10_000
    max_incoming_bytes: int = 2048 * MB
    ttl_ms: int = 30 * DAY_MS


class MediaShelf:
    """The endpoint's media files, in a folder of its data directory."""

    def __init__(self, folder: Path, bounds: MediaBounds, items: dict[str, Stored]) -> None:
        self._dir = folder
        self._bounds = bounds
        self._items = items
        self._reserved = {"upload": [0, 0], "incoming": [0, 0]}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, folder: Path, bounds: MediaBounds | None = None) -> MediaShelf:
        def load() -> dict[str, Stored]:
            private_dir(folder)
            found: dict[str, Stored] = {}
            now = _now_ms()
            for meta in folder.glob("*.json"):
                try:
                    item = msgspec.json.decode(meta.read_bytes(), type=Stored)
                except (OSError, msgspec.MsgspecError):
                    item = None
                blob = folder / f"{meta.stem}.bin"
                if item is None or item.expires_ms <= now or not blob.exists():
                    meta.unlink(missing_ok=True)
                    blob.unlink(missing_ok=True)
                    continue
                found[item.id] = item
            for blob in folder.glob("*.bin"):
                if blob.stem not in found:
                    blob.unlink(missing_ok=True)
            for temp in folder.glob("*.part"):
                temp.unlink(missing_ok=True)
            return found

        return cls(folder, bounds or MediaBounds(), await asyncio.to_thread(load))

    def get(self, media_id: str) -> Stored:
        """A live media of this endpoint, else 100/33 (unknown, expired, or another business's)."""
        item = self._items.get(media_id)
        if item is None or item.expires_ms <= _now_ms():
            raise CloudApiError(Failure.UNKNOWN_OBJECT, f"Unknown media id {media_id[:32]!r}.")
        return item

    def has(self, media_id: str) -> bool:
        return media_id in self._items

    def blob_path(self, item: Stored) -> Path:
        return self._dir / f"{item.id}.bin"

    async def add_upload(
        self, source: BinaryIO, *, mime: str, size: int, filename: str | None, ttl_ms: int | None = None
    ) -> Stored:
        """Encrypt ``source`` (``size`` bytes, already checked) onto the shelf: an upload."""
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        async with self._lock:
            await self._expire()
            count, held = self._usage("upload")
            if count + 1 > self._bounds.max_uploads or held + size > self._bounds.max_upload_bytes:
                raise media_error(
                    f"this business holds {count} uploaded media ({held} bytes); at most "
                    f"{self._bounds.max_uploads} and {self._bounds.max_upload_bytes} bytes: delete some "
                    "(DELETE /{media_id}) or wait for them to expire"
                )
            self._reserved["upload"][0] += 1
            self._reserved["upload"][1] += size
        try:
            return await self._seal(media_id, "upload", source, mime=mime, filename=filename, ttl_ms=ttl_ms)
        finally:
            self._reserved["upload"][0] -= 1
            self._reserved["upload"][1] -= size

    async def add_incoming(
        self,
        media_id: str,
        ciphertext: bytes,
        *,
        key: str,
        nonce: str,
        blob_sha256: str,
        size: int,
        mime: str,
        filename: str | None,
    ) -> Stored:
        """A person's file, as it came (checked and decrypted once to learn its plaintext hash)."""
        existing = self._items.get(media_id)
        if existing is not None:
            return existing
        secrets_ = b64decode(key), b64decode(nonce), b64decode(blob_sha256)

        def verify() -> str:
            plain = decrypt_file(
                ciphertext, key=secrets_[0], nonce=secrets_[1], sha256=secrets_[2], size=size
            )
            return hashlib.sha256(plain).hexdigest()

        digest = await asyncio.to_thread(verify)
        now = _now_ms()
        item = Stored(
            id=media_id,
            origin="incoming",
            mime=mime,
            size=size,
            sha256=digest,
            key=key,
            nonce=nonce,
            blob_sha256=blob_sha256,
            filename=filename,
            created_ms=now,
            expires_ms=now + self._bounds.ttl_ms,
        )
        async with self._lock:
            await self._expire()
            await self._evict_incoming(size)
            await asyncio.to_thread(self._write, item, ciphertext)
            self._items[media_id] = item
        return item

    async def _seal(
        self,
        media_id: str,
        origin: str,
        source: BinaryIO,
        *,
        mime: str,
        filename: str | None,
        ttl_ms: int | None = None,
    ) -> Stored:
        def seal() -> SealedFile:
            part = self._dir / f"{media_id}.part"
            try:
                with part.open("wb") as target:
                    sealed = encrypt_path(source, target)
                    target.flush()
                    os.fsync(target.fileno())
                part.replace(self._dir / f"{media_id}.bin")
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return sealed

        sealed = await asyncio.to_thread(seal)
        now = _now_ms()
        item = Stored(
            id=media_id,
            origin=origin,
            mime=mime,
            size=sealed.size,
            sha256=sealed.plain_sha256.hex(),
            key=b64encode(sealed.key),
            nonce=b64encode(sealed.nonce),
            blob_sha256=b64encode(sealed.sha256),
            filename=filename,
            created_ms=now,
            expires_ms=now + min(ttl_ms or self._bounds.ttl_ms, self._bounds.ttl_ms),
        )
        await asyncio.to_thread(self._write_meta, item)
        self._items[media_id] = item
        return item

    async def seal_temporary(self, source: BinaryIO, *, mime: str, filename: str | None) -> Stored:
        """A file fetched for one send (a ``link``): encrypted like an upload, forgotten after the
        send with ``delete``."""
        return await self._seal("t" + secrets.token_hex(8), "link", source, mime=mime, filename=filename)

    async def remember_blob(self, item: Stored, conv: str, blob: str) -> None:
        convs = dict(item.convs)
        convs[conv] = (blob, _now_ms())
        if len(convs) > MAX_CONVS_PER_MEDIA:
            oldest = min(convs, key=lambda c: convs[c][1])
            del convs[oldest]
        item.convs = convs
        if item.id in self._items:
            await asyncio.to_thread(self._write_meta, item)

    def reusable_blob(self, item: Stored, conv: str) -> str | None:
        found = item.convs.get(conv)
        if found is None or found[1] + REUSE_MS <= _now_ms():
            return None
        return found[0]

    async def read_ciphertext(self, item: Stored) -> bytes:
        return await asyncio.to_thread(self.blob_path(item).read_bytes)

    async def delete(self, media_id: str) -> None:
        self._items.pop(media_id, None)
        await asyncio.to_thread(self._remove, media_id)

    async def verify(self, item: Stored) -> None:
        """Check the stored ciphertext against its size and hash (before ``plaintext``)."""
        path, digest = self.blob_path(item), b64decode(item.blob_sha256)

        def check() -> None:
            with path.open("rb") as blob:
                check_blob(blob, sha256=digest, size=item.size)

        try:
            await asyncio.to_thread(check)
        except (OSError, AttachmentInvalid):
            log.warning("a stored media is damaged or gone", extra={"media": item.id})
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "This media is no longer available.") from None

    async def plaintext(self, item: Stored) -> AsyncIterator[bytes]:
        """The file, decrypted a segment at a time (``verify`` it first)."""
        path = self.blob_path(item)
        key, nonce = b64decode(item.key), b64decode(item.nonce)
        with path.open("rb") as blob:
            for index in range(segment_count(item.size)):
                sealed = await asyncio.to_thread(blob.read, SEGMENT_BYTES + TAG_BYTES)
                yield await asyncio.to_thread(
                    decrypt_segment, sealed, key=key, nonce=nonce, index=index, size=item.size
                )

    # -- bounds -------------------------------------------------------------------------------------

    def _usage(self, origin: str) -> tuple[int, int]:
        items = [i for i in self._items.values() if i.origin == origin]
        reserved = self._reserved[origin]
        return len(items) + reserved[0], sum(i.size for i in items) + reserved[1]

    async def _expire(self) -> None:
        now = _now_ms()
        for media_id in [i.id for i in self._items.values() if i.expires_ms <= now]:
            await self.delete(media_id)

    async def _evict_incoming(self, adding: int) -> None:
        incoming = sorted(
            (i for i in self._items.values() if i.origin == "incoming"), key=lambda i: i.created_ms
        )
        count, held = len(incoming), sum(i.size for i in incoming)
        while incoming and (
            count + 1 > self._bounds.max_incoming or held + adding > self._bounds.max_incoming_bytes
        ):
            oldest = incoming.pop(0)
            count, held = count - 1, held - oldest.size
            await self.delete(oldest.id)

    # -- files --------------------------------------------------------------------------------------

    def _write_meta(self, item: Stored) -> None:
        temp = self._dir / f"{item.id}.json.tmp"
        temp.write_bytes(msgspec.json.encode(item))
        temp.replace(self._dir / f"{item.id}.json")

    def _write(self, item: Stored, ciphertext: bytes) -> None:
        part = self._dir / f"{item.id}.part"
        part.write_bytes(ciphertext)
        part.replace(self._dir / f"{item.id}.bin")
        self._write_meta(item)

    def _remove(self, media_id: str) -> None:
        (self._dir / f"{media_id}.json").unlink(missing_ok=True)
        (self._dir / f"{media_id}.bin").unlink(missing_ok=True)


# -- links ------------------------------------------------------------------------------------------


Resolve = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) → the addresses it resolves to; the event loop's ``getaddrinfo`` by default."""


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    return [str(info[4][0]) for info in infos]


async def public_address(
    url: str, *, resolve: Resolve = system_resolve
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address to connect to for ``url``, refusing a host that is or resolves to any
    non-public address (hosted endpoints' links, webhooks a bot registered). The caller connects to
    this address (``pinned``), so a name that resolves differently a second time (DNS rebinding)
    cannot reach another one."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(found.split("%", 1)[0]) for found in await resolve(host, port)]
        except (OSError, ValueError):
            raise media_error(f"link: the host {host[:80]!r} cannot be resolved") from None
    if not addresses or any(not a.is_global for a in addresses):
        raise media_error(f"link: {host[:80]!r} is not a public address; links must be public")
    return addresses[0]


def pinned(
    url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` aimed at ``address``: (the URL, the ``Host`` header, httpx's TLS server name)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    shown = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return parts._replace(netloc=netloc).geturl(), {"Host": shown}, extensions


async def fetch_link(
    url: str, *, kind: Kind, hosted: bool, http: httpx.AsyncClient | None = None
) -> tuple[BinaryIO, str, int]:
    """Fetch a send's ``link`` into a temporary file: (the file at its start, its type, its size).
    The type is the answer's ``Content-Type`` (else guessed from the path) and must be the kind's."""
    own = http is None
    client = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    target = tempfile.TemporaryFile()
    try:
        async with asyncio.timeout(LINK_TIMEOUT_S):
            for _ in range(LINK_REDIRECTS + 1):
                if urlsplit(url).scheme not in ("http", "https"):
                    raise media_error("link: only http and https links are fetched")
                aim: str = url
                headers: dict[str, str] = {}
                extensions: dict[str, str] = {}
                if hosted:
                    aim, headers, extensions = pinned(url, await public_address(url))
                async with client.stream("GET", aim, headers=headers, extensions=extensions) as answer:
                    if answer.is_redirect and "location" in answer.headers:
                        url = urljoin(url, answer.headers["location"])
                        continue
                    if answer.status_code != 200:
                        raise media_error(f"link: the server answered HTTP {answer.status_code}")
                    declared = answer.headers.get("content-type", "").split(";")[0].strip().lower()
                    if declared in ("", "application/octet-stream", "binary/octet-stream"):
                        declared = mimetypes.guess_type(urlsplit(url).path)[0] or declared
                    if declared not in kind.mimes:
                        raise media_error(
                            f"link: the file is {declared or 'of no type'!s}; a {kind.name} must be "
                            + " or ".join(sorted(kind.mimes))
                        )
                    size = 0
                    async for chunk in answer.aiter_bytes(LINK_CHUNK):
                        size += len(chunk)
                        if size > kind.max_bytes:
                            raise media_error(
                                f"link: the file is over the {kind.name} limit of {_human(kind.max_bytes)}"
                            )
                        await asyncio.to_thread(target.write, chunk)
                    check_size(kind, size)
                    await asyncio.to_thread(target.seek, 0)
                    check_magic(declared, await asyncio.to_thread(target.read, 16))
                    await asyncio.to_thread(target.seek, 0)
                    return target, declared, size
            raise media_error(f"link: more than {LINK_REDIRECTS} redirects")
    except TimeoutError:
        target.close()
        raise media_error(f"link: the file did not arrive within {LINK_TIMEOUT_S:.0f} s") from None
    except httpx.HTTPError as exc:
        target.close()
        raise media_error(f"link: the file could not be fetched ({type(exc).__name__})") from None
    except BaseException:
        target.close()
        raise
    finally:
        if own:
            await client.aclose()


def _now_ms() -> int:
    return int(time.time() * 1000)
