"""A full disk under the embedded server (its data directory on a small tmpfs of its own).

SDK clients write to each other continuously, and a raw client sends large envelopes, while a
filler file takes every free byte of the disk. The server goes on running: sends it cannot store
are answered ``unavailable`` (nothing stored: the sender may send again with the same id), what
needs a write over REST is answered 503 ``unavailable``, the log says why (SQLite's "database or
disk is full"), and what it had acknowledged before stays.
When the filler is removed, the same sends succeed and every acknowledged message arrives once.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from passerelle.sdk import Client
from tests.e2e.terminals import Terminals
from tests.faults.traffic import Traffic, both_ways
from tests.integration.wire import Wire, register_photo

PW = "correct horse battery"
BIG = 48 * 1024  # under the 64 KiB envelope limit: each stored send takes room quickly

pytestmark = pytest.mark.timeout(180)


def big_send(client_id: str, sender: Wire, to: Wire) -> dict[str, Any]:
    body = client_id.ljust(BIG, "x")
    envelope = {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": "k",
        "ciphertext": {"x": {"type": 1, "body": body}},
    }
    return {"t": "send", "id": client_id, "to": to.account, "payloads": {to.device_id: envelope}}


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; its path."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):  # big writes, then the last scraps
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_refuses_sends_clearly_keeps_what_it_acked_and_recovers(
    small_disk: tuple[Terminals, Path], tmp_path: Path
) -> None:
    terminals, disk = small_disk
    await terminals.serve()
    url = terminals.url
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        carol = await register_photo(http, "carol")
        dave = await register_photo(http, "dave")
        await carol.connect()
        await dave.connect()
        alice = await Client.register(url, tmp_path / "alice", app="photo", handle="alice", password=PW)
        bob = await Client.register(url, tmp_path / "bob", app="photo", handle="bob", password=PW)
        try:
            await alice.connect()
            await bob.connect()
            async with Traffic(both_ways(("ab", alice, bob))) as traffic:
                await traffic.until_acked(20)
                filler = await asyncio.to_thread(fill, disk)

                # Carol sends large envelopes until the server can no longer store one.
                acked: list[str] = []
                refusal: dict[str, Any] | None = None
                n = 0
                while refusal is None:
                    n += 1
                    await carol.send(big_send(f"c{n}", carol, dave))
                    answer = await carol.next(within=30)
                    while answer["t"] not in ("sent", "error"):
                        answer = await carol.next(within=30)
                    if answer["t"] == "sent":
                        acked.append(answer["id"])
                        assert n < 2000, "the disk never filled"
                    else:
                        refusal = answer
                assert refusal["code"] == "unavailable" and refusal["ref"] == f"c{n}", refusal
                # Over REST too: a write is refused with a clear, retryable error. (A challenge is
                # issued without the database; spending it to log in is the write.)
                challenge = await http.post("/v1/auth/challenge", json={"device_id": carol.device_id})
                assert challenge.status_code == 200
                login = {"device_id": carol.device_id, "challenge": challenge.json()["challenge"]}
                spent = await http.post("/v1/auth/token", json={**login, "signature": "AAAA"})
                assert spent.status_code == 503 and spent.json()["error"]["code"] == "unavailable"
                assert (await http.get("/healthz")).status_code == 200
                # The operator is told why, once (not once per refusal).
                assert terminals.server is not None
                warning = await terminals.server.line("the database refuses work")
                assert "database or disk is full" in warning, warning

                await asyncio.to_thread(filler.unlink)  # space returns
                await carol.send(big_send(f"c{n}", carol, dave))  # the refused one, again
                answer = await carol.next("sent", within=30)
                assert answer["id"] == f"c{n}"
                acked.append(answer["id"])
                await traffic.until_acked(20)
                await traffic.stop()
                figures = traffic.check()

            # Dave gets every one of Carol's acknowledged sends, once.
            got: list[str] = []
            while len(got) < len(acked):
                items = await dave.items(1, within=30)
                got.extend(i["body"]["ciphertext"]["x"]["body"].rstrip("x") for i in items)
                await dave.send({"t": "ack", "upto": items[-1]["pos"]})
            assert sorted(got) == sorted(acked) and len(set(got)) == len(got)
        finally:
            await alice.close()
            await bob.close()
            await carol.close()
            await dave.close()
    print(f"full disk: {len(acked)} large sends acked before the refusal; SDK traffic {figures}")
    assert figures.lost == figures.duplicated == figures.invented == 0
