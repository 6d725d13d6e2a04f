"""The business endpoint's media shelf (docs/business.md section 6, "Media"): the Cloud API's types
and sizes, the first bytes checked, what it holds bounded (uploads refused when full, people's files
evicted oldest first), expiry, and its files read again after a restart."""

from __future__ import annotations

import asyncio
import hashlib
import io
import ipaddress
from pathlib import Path

import pytest

from passerelle.crypto import b64encode
from passerelle.crypto.attachments import encrypt_file
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.server.endpoint.media import (
    KINDS,
    MediaBounds,
    MediaShelf,
    check_magic,
    check_size,
    kind_of,
    pinned,
    public_address,
)

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 100


def test_a_type_picks_its_kind_and_its_limit() -> None:
    assert kind_of("image/jpeg").name == "image"
    assert kind_of("IMAGE/PNG; charset=binary").name == "image"
    assert kind_of("image/webp").name == "sticker"
    assert kind_of("application/pdf").name == "document"
    assert kind_of("audio/ogg").name == "audio"
    with pytest.raises(CloudApiError) as refused:
        kind_of("image/gif")
    assert refused.value.spec.code == 131053 and "image/gif" in refused.value.details
    check_size(KINDS["image"], 5 * 1024 * 1024)
    with pytest.raises(CloudApiError, match="131053"):
        check_size(KINDS["image"], 5 * 1024 * 1024 + 1)
    with pytest.raises(CloudApiError):
        check_size(KINDS["sticker"], 500 * 1024 + 1)
    with pytest.raises(CloudApiError):
        check_size(KINDS["document"], 0)


def test_first_bytes_must_match_the_declared_type() -> None:
    check_magic("image/jpeg", JPEG[:16])
    check_magic("image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    check_magic("image/webp", b"RIFF\0\0\0\0WEBPVP8 ")
    check_magic("text/plain", b"anything")
    for mime, head in (("image/png", JPEG[:16]), ("image/jpeg", b"GIF89a"), ("application/pdf", b"<html>")):
        with pytest.raises(CloudApiError) as refused:
            check_magic(mime, head)
        assert f"not {mime}" in refused.value.details


async def test_uploads_are_bounded_and_kept_across_a_restart(tmp_path: Path) -> None:
    shelf = await MediaShelf.open(tmp_path / "media", MediaBounds(max_uploads=2, max_upload_bytes=10_000))
    first = await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename="a.jpg")
    await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)
    with pytest.raises(CloudApiError) as full:
        await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)
    assert full.value.failure is Failure.MEDIA_UPLOAD and "delete some" in full.value.details
    assert first.sha256 == hashlib.sha256(JPEG).hexdigest() and len(first.id) == 16
    assert JPEG not in (tmp_path / "media" / f"{first.id}.bin").read_bytes()
    again = await MediaShelf.open(tmp_path / "media", MediaBounds(max_uploads=2))
    found = again.get(first.id)
    assert found.filename == "a.jpg"
    await again.verify(found)
    assert b"".join([part async for part in again.plaintext(found)]) == JPEG
    await again.delete(first.id)
    with pytest.raises(CloudApiError) as gone:
        again.get(first.id)
    assert gone.value.spec.subcode == 33
    assert not (tmp_path / "media" / f"{first.id}.bin").exists()
    await again.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)


async def test_byte_bound_counts_what_is_held(tmp_path: Path) -> None:
    shelf = await MediaShelf.open(tmp_path / "media", MediaBounds(max_upload_bytes=len(JPEG) + 10))
    await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)
    with pytest.raises(CloudApiError):
        await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)


async def test_expired_media_is_gone_and_its_files_removed_at_start(tmp_path: Path) -> None:
    shelf = await MediaShelf.open(tmp_path / "media", MediaBounds(ttl_ms=1))
    item = await shelf.add_upload(io.BytesIO(JPEG), mime="image/jpeg", size=len(JPEG), filename=None)
    await asyncio.sleep(0.005)
    with pytest.raises(CloudApiError):
        shelf.get(item.id)
    await MediaShelf.open(tmp_path / "media")
    assert list((tmp_path / "media").iterdir()) == []


async def test_people_files_evict_the_oldest_first(tmp_path: Path) -> None:
    shelf = await MediaShelf.open(tmp_path / "media", MediaBounds(max_incoming=2))
    ids = []
    for n in range(3):
        data = JPEG + bytes([n])
        sealed = encrypt_file(data)
        media_id = str(10**16 + n)
        item = await shelf.add_incoming(
            media_id,
            sealed.blob,
            key=b64encode(sealed.key),
            nonce=b64encode(sealed.nonce),
            blob_sha256=b64encode(sealed.sha256),
            size=sealed.size,
            mime="image/jpeg",
            filename=None,
        )
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        ids.append(media_id)
    assert not shelf.has(ids[0]) and shelf.has(ids[1]) and shelf.has(ids[2])


async def test_hosted_links_reach_only_public_addresses_and_the_one_checked() -> None:
    for link in (
        "http://127.0.0.1/a",
        "http://10.1.2.3/a",
        "http://[::1]/a",
        "http://169.254.169.254/a",
        "http://[fe80::1]/a",
        "http://0.0.0.0/a",
        "http://localhost/a",
    ):
        with pytest.raises(CloudApiError) as refused:
            await public_address(link)
        assert "public" in refused.value.details
    address = await public_address("https://93.184.215.14/x.jpg")
    assert str(address) == "93.184.215.14"
    url, headers, extensions = pinned(
        "https://cdn.example.org:8443/a/x.jpg?s=1", ipaddress.ip_address("2001:db8::7")
    )
    assert url == "https://[2001:db8::7]:8443/a/x.jpg?s=1"
    assert headers == {"Host": "cdn.example.org:8443"} and extensions == {"sni_hostname": "cdn.example.org"}
    url, headers, extensions = pinned("http://cdn.example.org/x.jpg", ipaddress.ip_address("93.184.215.14"))
    assert url == "http://93.184.215.14/x.jpg" and headers == {"Host": "cdn.example.org"} and extensions == {}
