"""Encrypted media across apps, through the real server and the real SDK (docs/protocol.md §8).

alice is on `photo`, bob on `chat`, carol on `social`. Files travel as ciphertext; the key, hash, name
and caption only inside the Olm-encrypted message. None of them, nor the file's bytes, reaches the
server's files.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.crypto.attachments import encrypt_file
from passerelle.domain.ids import BlobId
from passerelle.domain.limits import Limits
from passerelle.sdk import Client, Message, NotFound, TooLarge
from passerelle.sdk.media import TamperedAttachment
from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, ServerHandle, SettableClock, assert_absent, make_settings
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33698765432"
DAY_S = 86_400


@dataclass
class People:
    alice: Client
    bob: Client
    carol: Client


async def _people(url: str, inbox: CodeInbox, stores: Path) -> People:
    alice = await Client.register(url, stores / "alice", app="photo", handle="alice", password=PW)
    await Client.request_code(url, "chat", BOB_PHONE)
    bob = await Client.register(
        url,
        stores / "bob",
        app="chat",
        phone=BOB_PHONE,
        code=inbox.code_for(BOB_PHONE),
        display_name="Bob",
    )
    carol = await Client.register(
        url, stores / "carol", app="social", username="marie.d", display_name="Marie D", password=PW
    )
    for client in (alice, bob, carol):
        await client.connect()
    return People(alice, bob, carol)


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[People]:
    found = await _people(server.url, server.inbox, tmp_path / "clients")
    yield found
    for client in (found.alice, found.bob, found.carol):
        await client.close()


@pytest_asyncio.fixture
async def small_server(tmp_path: Path, log_file: Path) -> AsyncIterator[ServerHandle]:
    """A server with small media limits: 256 KiB blobs, 64 KiB chunks, 2 unfinished uploads."""
    data_dir = tmp_path / "small-data"
    data_dir.mkdir()
    limits = Limits(max_blob_bytes=256 * 1024, blob_chunk_bytes=64 * 1024, max_pending_uploads=2)
    inbox, clock = CodeInbox(), SettableClock()
    async with running_server(
        make_settings(data_dir, limits=limits), clock=clock, code_sender=inbox
    ) as running:
        yield ServerHandle(running, data_dir, log_file, inbox, clock)


def marked(marker: str, size: int) -> bytes:
    """``size`` bytes of noise with a recognisable plaintext marker every 64 KiB."""
    out = bytearray(secrets.token_bytes(size))
    tag = marker.encode()
    for at in range(0, size - len(tag), 64 * 1024):
        out[at : at + len(tag)] = tag
    return bytes(out)


def blob_file(handle: ServerHandle, blob: str) -> Path:
    return handle.data_dir / "blobs" / blob[2:4] / blob


def blob_files(handle: ServerHandle) -> list[Path]:
    root = handle.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def auth(client: Client) -> dict[str, str]:
    return {"authorization": f"Bearer {client._rest.token}"}


async def test_a_photo_a_voice_note_and_a_file_cross_apps_end_to_end(
    people: People, server: ServerHandle, tmp_path: Path
) -> None:
    alice, bob = people.alice, people.bob
    bob_sees, alice_sees = Watcher(bob), Watcher(alice)
    photo = marked("PHOTO-PLAINTEXT-MARKER", 2 * 1024 * 1024 + 12345)
    thumb = marked("THUMB-PLAINTEXT-MARKER", 3000)
    caption = "Coucher de soleil à Biarritz 🌅"
    name = "biarritz-sunset-secret-name.jpg"

    sent = await alice.media.send_image(
        bob.account_id,
        photo,
        name=name,
        caption=caption,
        width=4032,
        height=3024,
        thumbnail=thumb,
        thumbnail_size=(320, 240),
    )
    got = await bob_sees.next(Message, lambda m: m.attachment is not None)
    att = got.attachment
    assert att is not None
    assert (got.text, got.sender, got.id) == (caption, alice.account_id, sent.id)
    assert (att.kind, att.name, att.mime, att.size) == ("image", name, "image/jpeg", len(photo))
    assert (att.width, att.height) == (4032, 3024)
    assert await bob.media.download(got) == photo
    assert await bob.media.download_thumbnail(got) == thumb
    # History shows the attachment on both sides.
    [in_history] = [m for m in await bob.history(got.conv) if m.attachment is not None]
    assert in_history.attachment == att
    mine = [m for m in await alice.history(sent.conv) if m.attachment is not None]
    assert len(mine) == 1 and mine[0].outgoing and await alice.media.download(mine[0]) == photo

    # A voice note back: duration and waveform are inside the encryption.
    voice = marked("VOICE-PLAINTEXT-MARKER", 40_000)
    waveform = [0, 12, 80, 255, 140, 33, 7]
    await bob.media.send_voice(alice.account_id, voice, duration_ms=7250, waveform=waveform)
    heard = await alice_sees.next(Message, lambda m: m.attachment is not None)
    assert heard.attachment is not None
    assert (heard.attachment.kind, heard.attachment.duration_ms) == ("voice", 7250)
    assert heard.attachment.waveform == waveform
    assert heard.text == "🎤 Voice note (0:07)"  # the plain-text stand-in
    assert await alice.media.download(heard) == voice

    # A file from disk, saved on the other side where the receiver chooses.
    doc = tmp_path / "contrat-confidentiel.pdf"
    doc.write_bytes(marked("DOC-PLAINTEXT-MARKER", 70_000))
    await alice.media.send_file(bob.account_id, doc, mime="application/pdf")
    filed = await bob_sees.next(Message, lambda m: m.attachment is not None and m.attachment.kind == "file")
    assert filed.attachment is not None and filed.attachment.name == "contrat-confidentiel.pdf"
    saved = await bob.media.save(filed, tmp_path / "saved.pdf")
    assert saved.read_bytes() == doc.read_bytes()

    assert_absent(
        [
            "PHOTO-PLAINTEXT-MARKER",
            "THUMB-PLAINTEXT-MARKER",
            "VOICE-PLAINTEXT-MARKER",
            "DOC-PLAINTEXT-MARKER",
            caption,
            name,
            "contrat-confidentiel",
            att.key,
            att.sha256,
        ],
        server.server_files(),
    )
    assert len(blob_files(server)) == 4  # photo, thumbnail, voice note, file: ciphertext only


async def test_a_tampered_blob_is_rejected(people: People, server: ServerHandle) -> None:
    alice, bob = people.alice, people.bob
    bob_sees = Watcher(bob)
    data = marked("TAMPER-ME", 300_000)
    await alice.media.send_file(bob.account_id, data, name="a.bin")
    got = await bob_sees.next(Message, lambda m: m.attachment is not None)
    assert got.attachment is not None
    path = blob_file(server, got.attachment.blob)
    original = path.read_bytes()

    flipped = bytearray(original)
    flipped[100_000] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(TamperedAttachment):
        await bob.media.download(got)

    # A blob swapped for another file's ciphertext of the very same size fails the hash too.
    path.write_bytes(encrypt_file(secrets.token_bytes(len(data))).blob)
    with pytest.raises(TamperedAttachment):
        await bob.media.download(got)

    path.write_bytes(original[:-1])  # cut short
    with pytest.raises(TamperedAttachment):
        await bob.media.download(got)

    path.write_bytes(original)
    assert await bob.media.download(got) == data


async def test_only_members_of_the_conversation_can_download(people: People, server: ServerHandle) -> None:
    alice, bob, carol = people.alice, people.bob, people.carol
    bob_sees = Watcher(bob)
    await alice.media.send_file(bob.account_id, b"for bob only", name="bob.txt")
    got = await bob_sees.next(Message, lambda m: m.attachment is not None)
    assert got.attachment is not None
    blob = got.attachment.blob

    # carol learnt the blob id and even the key: the server still says the blob does not exist.
    with pytest.raises(NotFound):
        await carol.media.download(got.attachment)
    async with httpx.AsyncClient(base_url=server.url) as http:
        theirs = await http.get(f"/v1/media/{blob}", headers=auth(carol))
        unknown = await http.get(f"/v1/media/b_{'x' * 43}", headers=auth(carol))
        status = await http.get(f"/v1/media/uploads/{blob}", headers=auth(bob))  # not bob's upload
        traversal = await http.get("/v1/media/..%2F..%2Fpasserelle.db", headers=auth(bob))
        anonymous = await http.get(f"/v1/media/{blob}")
    assert theirs.status_code == unknown.status_code == status.status_code == traversal.status_code == 404
    assert theirs.json() == unknown.json() and theirs.json()["error"]["code"] == "not_found"
    assert anonymous.status_code == 401
    assert await bob.media.download(got) == b"for bob only"


async def test_uploads_are_size_limited(small_server: ServerHandle, tmp_path: Path) -> None:
    people = await _people(small_server.url, small_server.inbox, tmp_path / "clients")
    alice, bob = people.alice, people.bob
    try:
        with pytest.raises(TooLarge):
            await alice.media.send_file(bob.account_id, secrets.token_bytes(256 * 1024))
        conv = (await alice.conversations())[0].conv
        async with httpx.AsyncClient(base_url=small_server.url) as http:
            too_big = await http.post(
                "/v1/media/uploads", json={"conv": conv, "size": 256 * 1024 + 1}, headers=auth(alice)
            )
            assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
            created = await http.post(
                "/v1/media/uploads", json={"conv": conv, "size": 200_000}, headers=auth(alice)
            )
            assert created.status_code == 201 and created.json()["chunk_bytes"] == 64 * 1024
            blob = created.json()["blob"]
            # A chunk over the chunk limit is refused (the JSON body limit does not apply here).
            chunk = await http.patch(
                f"/v1/media/uploads/{blob}",
                content=b"\0" * (64 * 1024 + 1),
                headers={**auth(alice), "upload-offset": "0"},
            )
            assert chunk.status_code == 413 and chunk.json()["error"]["code"] == "too_large"
            # Not past the declared size either.
            for at in (0, 65536, 131072):
                ok = await http.patch(
                    f"/v1/media/uploads/{blob}",
                    content=b"\0" * 65536,
                    headers={**auth(alice), "upload-offset": str(at)},
                )
                assert ok.status_code == 200, ok.text
            past = await http.patch(
                f"/v1/media/uploads/{blob}",
                content=b"\0" * 65536,
                headers={**auth(alice), "upload-offset": "196608"},
            )
            assert past.status_code == 400
            # An account holds a bounded number of unfinished uploads (2 here).
            second = await http.post(
                "/v1/media/uploads", json={"conv": conv, "size": 10}, headers=auth(alice)
            )
            third = await http.post("/v1/media/uploads", json={"conv": conv, "size": 10}, headers=auth(alice))
            assert second.status_code == 201 and third.status_code == 409
            # Nobody uploads into a conversation they are not in.
            intruder = await http.post(
                "/v1/media/uploads", json={"conv": conv, "size": 10}, headers=auth(people.carol)
            )
            assert intruder.status_code == 404
    finally:
        for client in (alice, bob, people.carol):
            await client.close()


async def _cut_off_chunk(url: str, token: str, blob: str, offset: int, declared: int, sent: bytes) -> None:
    """A PATCH whose connection dies after ``len(sent)`` of ``declared`` body bytes."""
    host, port = url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"PATCH /v1/media/uploads/{blob} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Upload-Offset: {offset}\r\nContent-Length: {declared}\r\n\r\n"
    )
    writer.write(head.encode() + sent)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_an_interrupted_upload_resumes_from_the_servers_offset(
    small_server: ServerHandle, tmp_path: Path
) -> None:
    people = await _people(small_server.url, small_server.inbox, tmp_path / "clients")
    alice, bob = people.alice, people.bob
    bob_sees = Watcher(bob)
    try:
        conv = (await alice.media._convs.direct(alice.account_id, bob.account_id)).conv
        ciphertext = secrets.token_bytes(200_000)
        async with httpx.AsyncClient(base_url=small_server.url) as http:
            created = await http.post(
                "/v1/media/uploads", json={"conv": conv, "size": len(ciphertext)}, headers=auth(alice)
            )
            blob = created.json()["blob"]
            first = await http.patch(
                f"/v1/media/uploads/{blob}",
                content=ciphertext[:65536],
                headers={**auth(alice), "upload-offset": "0"},
            )
            assert first.json()["offset"] == 65536
            # The second chunk is cut off half-way: the server keeps none of it.
            await _cut_off_chunk(
                small_server.url, alice._rest.token or "", blob, 65536, 65536, ciphertext[65536:100_000]
            )
            state = await http.get(f"/v1/media/uploads/{blob}", headers=auth(alice))
            assert state.json()["offset"] == 65536 and state.json()["complete"] is False
            # A chunk at the wrong offset is a conflict: the client must ask where to go on.
            wrong = await http.patch(
                f"/v1/media/uploads/{blob}",
                content=ciphertext[100_000:110_000],
                headers={**auth(alice), "upload-offset": "100000"},
            )
            assert wrong.status_code == 409
            # Not downloadable before it is finished.
            early = await http.get(f"/v1/media/{blob}", headers=auth(bob))
            assert early.status_code == 404

        # The SDK resumes from the server's offset and finishes.
        assert await alice.media.blobs.resume_upload(blob, ciphertext) == blob
        async with httpx.AsyncClient(base_url=small_server.url) as http:
            downloaded = await http.get(f"/v1/media/{blob}", headers=auth(bob))
        assert downloaded.status_code == 200 and downloaded.content == ciphertext

        # And a whole send in several chunks works the same way.
        data = marked("CHUNKED", 150_000)
        await alice.media.send_file(bob.account_id, data, name="chunked.bin")
        got = await bob_sees.next(Message, lambda m: m.attachment is not None)
        assert await bob.media.download(got) == data
    finally:
        for client in (alice, bob, people.carol):
            await client.close()


async def test_blobs_expire_with_their_messages_and_the_janitor_deletes_them(
    people: People, server: ServerHandle
) -> None:
    alice, bob = people.alice, people.bob
    bob_sees = Watcher(bob)
    janitor = server.running.services.janitor
    kept = await alice.send_text(bob.account_id, "hello")
    await bob.set_timer(kept.conv, DAY_S)  # disappearing messages: one day
    await alice.media.send_file(bob.account_id, b"gone tomorrow", name="tomorrow.txt")
    got = await bob_sees.next(Message, lambda m: m.attachment is not None)
    # An upload abandoned half-way.
    async with httpx.AsyncClient(base_url=server.url) as http:
        created = await http.post(
            "/v1/media/uploads", json={"conv": kept.conv, "size": 1000}, headers=auth(alice)
        )
        abandoned = created.json()["blob"]
        await http.patch(
            f"/v1/media/uploads/{abandoned}",
            content=b"x" * 500,
            headers={**auth(alice), "upload-offset": "0"},
        )
    assert len(blob_files(server)) == 2

    server.clock.advance(DAY_S - 60)
    await janitor.run_once()
    assert len(blob_files(server)) == 2
    assert await bob.media.download(got) == b"gone tomorrow"

    server.clock.advance(120)  # the message, and so its blob, expired; the upload is abandoned
    await janitor.run_once()
    assert blob_files(server) == []
    assert got.attachment is not None
    with pytest.raises(NotFound):
        await bob.media.download(got.attachment)
    store = server.running.services.store
    assert await store.get_blob(BlobId(got.attachment.blob)) is None
    assert await store.get_blob(BlobId(abandoned)) is None
