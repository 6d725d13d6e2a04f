"""Media quotas through the real server (issue 9): one account finished 40 uploads of up to 100 MiB
each, with nothing to stop it. Now what an account holds is bounded by its app's quota (bytes and
number of blobs); the refusal is ``413 quota_exceeded``, nothing of a refused upload reaches the
disk, and deleted or expired blobs give their room back.

The server here has small limits: blobs of at most 256 KiB in 64 KiB chunks, and a quota of
1 MiB in at most 40 blobs per account.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.config import Settings
from passerelle.domain.apps import AppRegistry, MediaQuota
from passerelle.domain.ids import AccountId
from passerelle.domain.limits import Limits
from passerelle.sdk import Client, QuotaExceeded
from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, ServerHandle, SettableClock, make_settings

PW = "correct horse battery"
KIB = 1024
QUOTA = MediaQuota(max_bytes=1024 * KIB, max_blobs=40)
CHUNK = 64 * KIB


@pytest_asyncio.fixture
async def quota_server(tmp_path: Path, log_file: Path) -> AsyncIterator[ServerHandle]:
    data_dir = tmp_path / "quota-data"
    data_dir.mkdir()
    base = make_settings(data_dir)
    apps = AppRegistry({a.name: replace(a, media_quota=QUOTA) for a in base.apps})
    limits = Limits(max_blob_bytes=256 * KIB, blob_chunk_bytes=CHUNK, max_pending_uploads=100)
    inbox, clock = CodeInbox(), SettableClock()
    settings = make_settings(data_dir, limits=limits, apps=apps)
    async with running_server(settings, clock=clock, code_sender=inbox) as running:
        yield ServerHandle(running, data_dir, log_file, inbox, clock)


def blob_bytes(handle: ServerHandle) -> int:
    """What the blob folder holds on disk, in bytes."""
    root = handle.data_dir / "blobs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


class Uploader:
    """Raw REST uploads as one client, answered as they are on the wire."""

    def __init__(self, http: httpx.AsyncClient, client: Client, conv: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {client._rest.token}"}
        self.conv = conv

    async def create(self, size: int) -> httpx.Response:
        return await self.http.post(
            "/v1/media/uploads", json={"conv": self.conv, "size": size}, headers=self.headers
        )

    async def upload(self, size: int) -> httpx.Response:
        """Create, send every chunk, finish: the create's answer if refused, else the finish's."""
        created = await self.create(size)
        if created.status_code != 201:
            return created
        blob = created.json()["blob"]
        data = secrets.token_bytes(size)
        for at in range(0, size, CHUNK):
            sent = await self.http.patch(
                f"/v1/media/uploads/{blob}",
                content=data[at : at + CHUNK],
                headers={**self.headers, "upload-offset": str(at)},
            )
            assert sent.status_code == 200, sent.text
        return await self.http.post(f"/v1/media/uploads/{blob}/finish", headers=self.headers)

    async def delete(self, blob: str) -> None:
        answer = await self.http.delete(f"/v1/media/uploads/{blob}", headers=self.headers)
        assert answer.status_code == 204, answer.text


@pytest_asyncio.fixture
async def pair(quota_server: ServerHandle, tmp_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    url = quota_server.url
    alice = await Client.register(url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    dave = await Client.register(url, tmp_path / "dave", app="photo", handle="dave", password=PW)
    for client in (alice, dave):
        await client.connect()
    await alice.send_text(dave.account_id, "hello")
    yield alice, dave
    for client in (alice, dave):
        await client.close()


async def test_a_flood_of_the_largest_uploads_stops_at_the_byte_quota(
    quota_server: ServerHandle, pair: tuple[Client, Client]
) -> None:
    alice, dave = pair
    conv = (await alice.conversations())[0].conv
    async with httpx.AsyncClient(base_url=quota_server.url) as http:
        flood = Uploader(http, alice, conv)
        answers = [await flood.upload(256 * KIB) for _ in range(40)]
        statuses = [a.status_code for a in answers]
        # 4 × 256 KiB fill the 1 MiB quota exactly; the 36 others are refused before any byte.
        assert statuses == [200] * 4 + [413] * 36
        refusal = answers[4].json()["error"]
        assert refusal["code"] == "quota_exceeded" and "1048576 bytes" in refusal["message"]
        assert blob_bytes(quota_server) == QUOTA.max_bytes
        # Not one byte more, whatever its size.
        one_more = await flood.create(1)
        assert one_more.status_code == 413 and one_more.json()["error"]["code"] == "quota_exceeded"
        assert blob_bytes(quota_server) <= QUOTA.max_bytes

        # The quota is per account: dave still has his.
        assert (await Uploader(http, dave, conv).upload(256 * KIB)).status_code == 200

        # Deleting a blob gives its room back, to the byte.
        await flood.delete(answers[0].json()["blob"])
        assert (await flood.create(256 * KIB + 0)).status_code == 201
        assert (await flood.create(1)).status_code == 413
    # The SDK raises QuotaExceeded (a TooLarge) for it.
    with pytest.raises(QuotaExceeded):
        await alice.media.send_file(dave.account_id, b"one byte too many")
    assert blob_bytes(quota_server) <= 2 * QUOTA.max_bytes  # alice's and dave's


async def test_the_41st_upload_is_refused_until_one_expires(
    quota_server: ServerHandle, pair: tuple[Client, Client]
) -> None:
    alice, _dave = pair
    conv = (await alice.conversations())[0].conv
    async with httpx.AsyncClient(base_url=quota_server.url) as http:
        alice_up = Uploader(http, alice, conv)
        finished = [await alice_up.upload(100) for _ in range(40)]
        assert all(a.status_code == 200 for a in finished)
        refused = await alice_up.upload(100)
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "quota_exceeded"
        files = [p for p in (quota_server.data_dir / "blobs").rglob("*") if p.is_file()]
        assert len(files) == 40

        # The blobs expire with their messages (30 days here); the janitor's round frees the room.
        quota_server.clock.advance(31 * 86_400)
        await quota_server.running.services.janitor.run_once()
        assert blob_bytes(quota_server) == 0
        await alice._credentials.relogin()  # the month also expired her token
        assert (await Uploader(http, alice, conv).upload(100)).status_code == 200
    usage = await quota_server.running.services.store.media_usage(AccountId(alice.account_id))
    assert (usage.bytes, usage.blobs) == (100, 1)


async def test_chunks_stop_when_the_operator_lowers_the_quota_under_what_is_held(
    tmp_path: Path, log_file: Path
) -> None:
    """Bytes are checked as they arrive: after a restart with a smaller quota, an upload begun
    under the old one gets no further chunk (``quota_exceeded``) until the account is under it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    limits = Limits(max_blob_bytes=256 * KIB, blob_chunk_bytes=CHUNK)

    def settings(quota: MediaQuota) -> Settings:
        base = make_settings(data_dir)
        apps = AppRegistry({a.name: replace(a, media_quota=quota) for a in base.apps})
        return make_settings(data_dir, limits=limits, apps=apps)

    inbox = CodeInbox()
    async with running_server(settings(QUOTA), code_sender=inbox) as running:
        alice = await Client.register(
            running.url, tmp_path / "alice", app="photo", handle="alice", password=PW
        )
        dave = await Client.register(running.url, tmp_path / "dave", app="photo", handle="dave", password=PW)
        conv = (await alice._rest.open_direct(dave.account_id)).conv
        async with httpx.AsyncClient(base_url=running.url) as http:
            up = Uploader(http, alice, conv)
            assert (await up.upload(200 * KIB)).status_code == 200
            begun = (await up.create(200 * KIB)).json()["blob"]
        await alice.close()
        await dave.close()
    smaller = MediaQuota(max_bytes=256 * KIB, max_blobs=40)
    async with running_server(settings(smaller), code_sender=inbox) as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            up.http = http
            chunk = await http.patch(
                f"/v1/media/uploads/{begun}",
                content=b"\0" * CHUNK,
                headers={**up.headers, "upload-offset": "0"},
            )
            assert chunk.status_code == 413 and chunk.json()["error"]["code"] == "quota_exceeded"
            assert (await up.create(1)).status_code == 413
            # Cancelling the unfinished upload brings the account under the quota again.
            await up.delete(begun)
            assert (await up.upload(56 * KIB)).status_code == 200
    assert sum(p.stat().st_size for p in (data_dir / "blobs").rglob("*") if p.is_file()) == 256 * KIB
