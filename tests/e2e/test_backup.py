"""``passerelle backup`` of a server in use, ``passerelle restore`` into a fresh data directory, a
server started on it, and a device that resumes from it.

Alice writes to Bob (texts and files) while Bob's device is offline and while the backup runs. The
server is then lost; the backup is restored into a new data directory and a server started on it,
on the same address. Bob's device connects as it always does and receives every message Alice had
been answered ``sent`` for before the backup started, files included (their blobs came back with
the database), once each; then he writes to Alice, and she gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from passerelle.sdk import Client, Message
from tests.e2e.terminals import WAIT_S, Terminals
from tests.ports import reserved_port

PW = "correct horse battery"

pytestmark = pytest.mark.timeout(120)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def test_a_backup_of_a_server_in_use_restores_and_a_device_resumes_from_it(
    no_server: Terminals, tmp_path: Path
) -> None:
    port = reserved_port()
    await no_server.serve(port=port)
    url = no_server.url
    alice = await Client.register(url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await Client.register(url, tmp_path / "bob", app="photo", handle="bob", password=PW)
    received: Counter[str] = Counter()
    files: dict[str, Message] = {}

    def on_message(message: Message) -> None:
        if not message.outgoing:
            received[message.text] += 1
            if message.attachment is not None:
                files[message.text] = message

    bob.on_message(on_message)
    try:
        await alice.connect()
        await alice.send_text(bob.account_id, "hello")
        await bob.privacy.accept(alice.account_id)  # so that Alice may write on while he is away
        before = ["hello"]  # acked before the backup started: the backup must hold them
        for n in range(20):
            await alice.send_text(bob.account_id, f"before {n}")
            before.append(f"before {n}")
        payloads = {f"file {n}": os.urandom(50_000 + n) for n in range(3)}
        for caption, data in payloads.items():
            await alice.media.send_file(bob.account_id, data, name=f"{caption}.bin", caption=caption)
            before.append(caption)

        stop = asyncio.Event()

        during: list[str] = []

        async def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                await alice.send_text(bob.account_id, f"during {n}")
                during.append(f"during {n}")

        writer = asyncio.create_task(keep_writing())
        try:
            backup_dir = tmp_path / "backup"
            made = await no_server.run(
                "backup", "backup", str(backup_dir), "--data-dir", str(tmp_path / "server")
            )
            assert await made.exit_status() == 0, made.output()
        finally:
            stop.set()
            await writer
        assert during, "the server took no message while the backup ran"
        assert "and 3 blobs" in made.output(), made.output()
        manifest = json.loads((backup_dir / "backup.json").read_text())
        assert manifest["blobs"] == 3 and manifest["blobs_gone"] == []
        for path in backup_dir.rglob("*"):  # as private as the data directory
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
        assert not (backup_dir / "code.key").exists()

        # The machine is lost; a new data directory from the backup, a server on it.
        assert no_server.server is not None
        no_server.server.process.kill()
        await no_server.server.exit_status()
        restored_dir = tmp_path / "restored"
        put_back = await no_server.run("restore", "restore", str(backup_dir), "--data-dir", str(restored_dir))
        assert await put_back.exit_status() == 0, put_back.output()
        again = await no_server.run(
            "restore again", "restore", str(backup_dir), "--data-dir", str(restored_dir)
        )
        assert await again.exit_status() == 1
        assert "restore into a fresh data directory" in again.output()
        await no_server.serve("--data-dir", str(restored_dir), port=port)

        # Bob's device resumes: everything acked before the backup, once; the files whole.
        await bob.connect()
        await until(lambda: all(received[text] for text in before))
        await asyncio.sleep(0.3)
        assert [text for text, count in received.items() if count > 1] == []
        assert all(
            text == "hello" or text.startswith(("before ", "during ", "file ")) for text in received
        ), received
        for caption, data in payloads.items():
            assert await bob.media.download(files[caption]) == data

        # And he can write: Alice (reconnected by herself) gets it.
        got: list[str] = []
        alice.on_message(lambda m: got.append(m.text) if not m.outgoing else None)
        await bob.send_text(alice.account_id, "back from the backup")
        await until(lambda: got == ["back from the backup"])
    finally:
        with contextlib.suppress(Exception):
            await alice.close()
        with contextlib.suppress(Exception):
            await bob.close()
