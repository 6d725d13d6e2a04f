"""A stuck client: Bob's device is connected but reads nothing (a phone frozen, a network that
stalled) while Alice writes him large messages, on both WebSocket gateways.

The server does not keep what it cannot write to Bob without bound: past its per-connection
bound (``send_buffer_bytes`` on the fast gateway, the pump's queue on uvicorn's) it closes him
with 1013 (try again later) and stops pushing to him. Its memory stays within a stated bound while
Alice goes on writing, and every message waits in Bob's mailbox: when he reconnects and reads, he
gets every one Alice was answered ``sent`` for, once and in order.

The server runs in this process, so its memory is this process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import httpx
import pytest

from tests.conftest import ServerHandle
from tests.integration.flood import MIB, Flooder, Memory
from tests.integration.wire import Wire, register_photo

BIG = 48 * 1024
SENDS = 500  # 24 MiB of envelopes for Bob: several times what one connection may hold back
MEMORY_BOUND = 48 * MIB
"""Growth of the server's peak memory while Alice writes 24 MiB to a client that reads nothing."""

pytestmark = [
    pytest.mark.settings(limits={"sends_per_second": 10_000.0}),
    pytest.mark.timeout(120),
]


def big_envelope(tag: str) -> dict[str, object]:
    body = tag.ljust(BIG, "x")
    return {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": "k",
        "ciphertext": {"x": {"type": 1, "body": body}},
    }


async def close_code(stuck: Flooder, within: float) -> int | None:
    """Bob at last reads: what the server sent him, up to its close; the close code (None: the
    socket ended without one, or nothing came)."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        async with asyncio.timeout(within):
            while True:
                opcode, payload = await stuck.read_frame()
                if opcode == 8:
                    return int(struct.unpack("!H", payload[:2])[0]) if payload else 1005
    return None


@pytest.mark.parametrize("gateway", ["asgi", "picows"])
async def test_a_client_that_reads_nothing_is_closed_and_catches_up_from_its_mailbox(
    server: ServerHandle, gateway: str
) -> None:
    ws_url = server.running.ws_url if gateway == "asgi" else server.running.fast_ws_url
    assert ws_url is not None
    async with httpx.AsyncClient(base_url=server.url) as http:
        alice = await register_photo(http, "alice", ws_url)
        bob = await register_photo(http, "bob", ws_url)
        await alice.connect()
        await alice.send(
            {"t": "send", "id": "hi", "to": bob.account, "payloads": {bob.device_id: big_envelope("hi")}}
        )
        conv = (await alice.next("sent"))["conv"]
        accepted = await http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
        assert accepted.status_code == 200, accepted.text

        stuck = await Flooder.connect(ws_url, bob.token)  # says hello, then reads nothing
        memory = Memory()
        acked = ["hi"]
        window = 16
        for n in range(SENDS):
            await alice.send(
                {
                    "t": "send",
                    "id": f"m{n}",
                    "to": bob.account,
                    "payloads": {bob.device_id: big_envelope(f"m{n}")},
                }
            )
            if n >= window:
                acked.append((await alice.next("sent", within=30))["id"])
            memory.sample()
        while len(acked) < SENDS + 1:
            acked.append((await alice.next("sent", within=30))["id"])
        peak = memory.peak()
        code = await close_code(stuck, within=30)
        stuck.close()
        print(
            f"\n[{gateway}] {SENDS * BIG / MIB:.0f} MiB to a client that read nothing: server peak memory "
            f"{memory.start / MIB:.0f} -> {peak / MIB:.0f} MiB; close {code}"
        )
        assert peak - memory.start < MEMORY_BOUND, (memory.start, peak)
        assert code == 1013

        # Bob's device comes back and reads: everything Alice was answered `sent` for, once, in order.
        bob = Wire(bob.base_url, ws_url, bob.account, bob.device_id, bob.token, bob.keys)
        await bob.connect()
        got: list[str] = []
        while len(got) < len(acked):
            items = await bob.items(1, kind="msg", within=30)
            got.extend(i["body"]["ciphertext"]["x"]["body"].rstrip("x") for i in items)
            await bob.send({"t": "ack", "upto": items[-1]["pos"]})
        assert got == acked
        with pytest.raises(TimeoutError):
            await bob.next("deliver", within=0.5)
        await alice.close()
        await bob.close()
