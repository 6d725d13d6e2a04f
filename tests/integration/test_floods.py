"""No stranger can flood a person or the server (issue 9), through the real server on both WebSocket
layers: a client that writes receipts as fast as its socket allows and reads nothing. The server's
memory and database stay within stated bounds, the flooder is refused with clear errors (then closed
as a slow consumer), and the person it aimed at still gets the next message of someone else.

The server runs in this process, so its memory is this process's (the client side here is small)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from passerelle.domain.ids import DeviceId, MailboxPos
from passerelle.domain.limits import Limits
from passerelle.proto.frames import MAX_RECEIPT_IDS
from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, ServerHandle, make_settings
from tests.integration.flood import MIB, Flooder, Memory, client_frame, faults_in, files_size
from tests.integration.wire import Wire, envelope, register_photo

FLOOD_S = 3.0
MEMORY_BOUND = 64 * MIB
"""Growth of the server's peak memory a flood may cause (before the fixes: gigabytes)."""
DATABASE_BOUND = 6 * MIB
"""Growth of the database files (main file and WAL) a flood may cause."""


def receipt_chunks(conv: str, to: str, frames: int, per_chunk: int) -> list[bytes]:
    """Receipt frames of MAX_RECEIPT_IDS ids each, every frame naming ids no other one names (so
    only the rate limit stops them), gathered in chunks of ``per_chunk`` frames."""
    encoded = [
        client_frame(
            json.dumps(
                {
                    "t": "receipt",
                    "conv": conv,
                    "to": to,
                    "kind": "delivered",
                    "ids": list(range(n * MAX_RECEIPT_IDS + 1, (n + 1) * MAX_RECEIPT_IDS + 1)),
                }
            ).encode()
        )
        for n in range(frames)
    ]
    return [b"".join(encoded[i : i + per_chunk]) for i in range(0, frames, per_chunk)]


async def next_message(bob: Wire, sender: str, within: float) -> dict[str, object]:
    """Bob's next ``msg`` item from ``sender``, past whatever else he is being sent."""
    while True:
        frame = await bob.next("deliver", within=within)
        for item in frame["items"]:
            if item["kind"] == "msg" and item["from"] == sender:
                return dict(item)


@pytest.mark.parametrize("accepted", [False, True], ids=["stranger", "accepted"])
async def test_a_receipt_flood_from_someone_who_reads_nothing_is_bounded(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str, accepted: bool
) -> None:
    """A stranger (Bob never answered) gets nothing into Bob's mailbox; someone Bob accepted gets no
    more than the rate limit lets through."""
    bob = await register_photo(http, "bob", ws_url)
    alice = await register_photo(http, "alice", ws_url)
    mallory = await register_photo(http, "mallory", ws_url)
    await bob.connect()
    await alice.connect()
    # Mallory, a stranger, writes to Bob once: they now share a conversation.
    await mallory.connect()
    await mallory.send(
        {"t": "send", "id": "m0", "to": bob.account, "payloads": {bob.device_id: envelope("hi")}}
    )
    conv = (await mallory.next("sent"))["conv"]
    await mallory.close()
    await next_message(bob, mallory.account, within=5)
    if accepted:
        answer = await http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
        assert answer.status_code == 200, answer.text

    chunks = receipt_chunks(conv, bob.account, frames=4000, per_chunk=16)
    database = server.database_files()
    size_before = files_size(database)
    memory = Memory()
    flooder = await Flooder.connect(ws_url, mallory.token)
    closed_while_writing = await flooder.flood(chunks, FLOOD_S, memory.sample)
    peak = memory.peak()
    errors, close_code = await flooder.errors_until_closed(within=10)
    flooder.close()
    size_after = files_size(server.database_files())

    # Bob's mailbox holds no more receipts than the rate limit lets through (burst + rate x time).
    stored = await server.running.services.store.fetch(
        DeviceId(bob.device_id), after=MailboxPos(0), limit=10_000
    )
    receipts = [item for item in stored if item.kind == "receipt"]
    print(
        f"\n[{'accepted' if accepted else 'stranger'} {ws_url.split(':')[2].split('/')[0]}] flood: "
        f"{flooder.written / MIB:.1f} MiB written in "
        f"{FLOOD_S} s; server peak memory {memory.start / MIB:.0f} -> {peak / MIB:.0f} MiB; database "
        f"{size_before / MIB:.2f} -> {size_after / MIB:.2f} MiB; {len(receipts)} receipts stored; "
        f"{sum(e['code'] == 'rate_limited' for e in errors)} rate_limited; close {close_code}"
    )
    # The server stopped reading (or closed the flooder) long before it took everything offered.
    assert peak - memory.start < MEMORY_BOUND, (memory.start, peak, flooder.written)
    assert size_after - size_before < DATABASE_BOUND, (size_before, size_after)
    # Mallory was told: rate_limited with a retry time, and closed as a slow consumer if she
    # went on without reading.
    limited = [e for e in errors if e["code"] == "rate_limited"]
    assert limited and all(e["retry_after"] >= 0 for e in limited), errors[:3]
    assert close_code in (None, 1013), close_code
    assert closed_while_writing is False or close_code in (None, 1013)

    if accepted:
        assert 0 < len(receipts) <= 100 + 20 * (FLOOD_S + 10 + 2), len(receipts)
    else:
        assert receipts == []
    assert all(len(json.loads(item.body)["ids"]) <= MAX_RECEIPT_IDS for item in receipts)

    # And Bob still gets Alice's next message.
    await alice.send(
        {"t": "send", "id": "a1", "to": bob.account, "payloads": {bob.device_id: envelope("later")}}
    )
    assert (await alice.next("sent"))["id"] == "a1"
    assert (await next_message(bob, alice.account, within=15))["body"] == envelope("later")
    await alice.close()
    await bob.close()
    assert faults_in(server.log_file) == []


async def test_repeated_receipts_are_coalesced_and_oversized_ones_refused(
    http: httpx.AsyncClient, server: ServerHandle, ws_url: str
) -> None:
    bob = await register_photo(http, "bob", ws_url)
    mallory = await register_photo(http, "mallory", ws_url)
    await bob.connect()
    await mallory.connect()
    await mallory.send(
        {"t": "send", "id": "m0", "to": bob.account, "payloads": {bob.device_id: envelope("hi")}}
    )
    conv = (await mallory.next("sent"))["conv"]
    await next_message(bob, mallory.account, within=5)
    answer = await http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
    assert answer.status_code == 200, answer.text
    receipt = {"t": "receipt", "conv": conv, "to": bob.account, "kind": "delivered"}
    for ids in (list(range(1, MAX_RECEIPT_IDS + 2)), [0], [2**70], []):
        await mallory.send({**receipt, "ids": ids})
        assert (await mallory.next("error"))["code"] == "invalid_input"
    for _ in range(50):
        await mallory.send({**receipt, "ids": [3, 1, 2, 2]})
    await mallory.send({**receipt, "ids": [2, 4]})
    await mallory.send({"t": "ping", "n": 7})
    assert (await mallory.next("pong"))["n"] == 7
    got: list[list[int]] = []
    while len(got) < 2:
        frame = await bob.next("deliver")
        got += [item["body"]["ids"] for item in frame["items"] if item["kind"] == "receipt"]
    assert got == [[3, 1, 2], [4]]
    stored = await server.running.services.store.fetch(
        DeviceId(bob.device_id), after=MailboxPos(0), limit=100
    )
    assert len([item for item in stored if item.kind == "receipt"]) == 2
    await mallory.close()
    await bob.close()


@pytest.mark.parametrize("layer", ["asgi", "picows"])
async def test_a_client_writing_faster_than_the_server_handles_meets_backpressure(
    tmp_path: Path, log_file: Path, layer: str
) -> None:
    """No rate limit to help here: every receipt is accepted and stored (a commit each), so the
    server handles them far slower than they arrive. It stops reading instead of queueing them."""
    limits = replace(Limits(), receipts_per_second=1e9, receipt_burst=10**9)
    settings = make_settings(tmp_path, limits=limits)
    async with running_server(settings, code_sender=CodeInbox()) as running:
        ws_url = running.ws_url if layer == "asgi" else running.fast_ws_url
        assert ws_url is not None
        async with httpx.AsyncClient(base_url=running.url) as http:
            bob = await register_photo(http, "bob", ws_url)
            mallory = await register_photo(http, "mallory", ws_url)
            await mallory.connect()
            payloads = {bob.device_id: envelope("hi")}
            await mallory.send({"t": "send", "id": "m0", "to": bob.account, "payloads": payloads})
            conv = (await mallory.next("sent"))["conv"]
            await mallory.close()
            # Bob accepts: Mallory's receipts are stored for him (a commit each), not dropped.
            answer = await http.post(f"/v1/conversations/{conv}/accept", headers=bob.auth)
            assert answer.status_code == 200, answer.text

            chunks = receipt_chunks(conv, bob.account, frames=4000, per_chunk=16)
            memory = Memory()
            flooder = await Flooder.connect(ws_url, mallory.token)
            await flooder.flood(chunks, FLOOD_S, memory.sample)
            peak = memory.peak()
            flooder.close()
            print(
                f"\n[{layer}] backpressure: {flooder.written / MIB:.1f} MiB written in {FLOOD_S} s; "
                f"server peak memory {memory.start / MIB:.0f} -> {peak / MIB:.0f} MiB"
            )
            assert peak - memory.start < MEMORY_BOUND, (memory.start, peak, flooder.written)
    assert faults_in(log_file) == []
