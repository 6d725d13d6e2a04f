"""What the server leaves on disk, through the real server (issue 9): the database and its WAL were
0644 and the data folder 0755, and one-time codes were salted SHA-256, which anyone who read the
database could search through (10**6 codes) in a second.

Now the data folder and the blob folders are 0700 and every file 0600, whatever the umask, and a
deployment made before is tightened at its next start; a code is an HMAC under a key kept outside
the database (``code.key``), and a search of every 6-digit code finds nothing without it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, make_settings
from tests.integration.wire import register_photo

PHONE = "+33612345678"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000])
def loose_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process's umask, loose on purpose (0o000 would make everything world-writable)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


async def upload_a_blob(url: str) -> None:
    """Two people, a conversation and one finished blob: every kind of file the server writes."""
    async with httpx.AsyncClient(base_url=url) as http:
        alice = await register_photo(http, "alice")
        bob = await register_photo(http, "bob")
        auth = {"authorization": f"Bearer {alice.token}"}
        conv = (await http.post("/v1/conversations", json={"with": bob.account}, headers=auth)).json()
        created = await http.post("/v1/media/uploads", json={"conv": conv["conv"], "size": 5}, headers=auth)
        blob = created.json()["blob"]
        sent = await http.patch(
            f"/v1/media/uploads/{blob}", content=b"bytes", headers={**auth, "upload-offset": "0"}
        )
        assert sent.status_code == 200, sent.text
        assert (await http.post(f"/v1/media/uploads/{blob}/finish", headers=auth)).status_code == 200


async def test_every_data_file_is_0600_and_every_folder_0700_whatever_the_umask(
    tmp_path: Path, loose_umask: int
) -> None:
    data_dir = tmp_path / "fresh" / "data"  # neither exists: the server creates both
    async with running_server(make_settings(data_dir), code_sender=CodeInbox()) as running:
        await upload_a_blob(running.url)
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        folders = [data_dir, *(p for p in data_dir.rglob("*") if p.is_dir())]
        names = {p.name for p in files}
        assert {"passerelle.db", "passerelle.db-wal", "passerelle.db-shm", "code.key"} <= names
        assert any(p.parent.parent.name == "blobs" for p in files), files
        assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}
        assert {str(p): oct(mode(p)) for p in folders} == {str(p): oct(0o700) for p in folders}
        assert len(folders) >= 3  # data, blobs, blobs/<xx>
        assert mode(data_dir.parent) == 0o700


async def test_an_older_deployment_is_tightened_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_server(make_settings(data_dir), code_sender=CodeInbox()) as running:
        await upload_a_blob(running.url)
    # As an older version left it: everything readable by all.
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    async with running_server(make_settings(data_dir), code_sender=CodeInbox()):
        assert mode(data_dir) == 0o700
        assert mode(data_dir / "blobs") == 0o700
        for name in ("passerelle.db", "passerelle.db-wal", "passerelle.db-shm", "code.key"):
            assert mode(data_dir / name) == 0o600, name


async def test_a_stored_code_does_not_fall_to_a_search_of_every_code_without_the_key(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    inbox = CodeInbox()
    async with running_server(make_settings(data_dir), code_sender=inbox) as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.post("/v1/codes", json={"app": "chat", "phone": PHONE})).status_code == 202
        code = inbox.code_for(PHONE)
        with sqlite3.connect(data_dir / "passerelle.db") as conn:
            [(stored,)] = conn.execute("SELECT code_hash FROM codes").fetchall()
    assert code not in stored
    prefix, _, digest = stored.partition("$")
    assert prefix == "hmac1" and len(digest) == 64
    target = bytes.fromhex(digest)
    candidates = [f"{n:06d}".encode() for n in range(1_000_000)]

    # Everything the database offers, tried on every code, unkeyed: nothing matches.
    bound = f"passerelle-code\0chat\0{PHONE}\0".encode()
    unkeyed: list[Callable[[bytes], bytes]] = [
        lambda c: hashlib.sha256(c).digest(),
        lambda c: hashlib.sha256(bound + c).digest(),
        lambda c: hmac.new(b"", bound + c, hashlib.sha256).digest(),
    ]
    for attempt in unkeyed:
        assert not [c for c in candidates if attempt(c) == target]

    # With the key (outside the database, 0600), the same search finds the code and only it.
    key = bytes.fromhex((data_dir / "code.key").read_text().strip())
    found = [c for c in candidates if hmac.new(key, bound + c, hashlib.sha256).digest() == target]
    assert found == [code.encode()]
