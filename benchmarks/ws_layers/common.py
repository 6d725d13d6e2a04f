"""What every server under test does per frame, and the measuring helpers the runner shares.

Per inbound text frame every server does exactly this (see ``FrameWork.handle``):

1. decode the frame with msgspec into the real protocol types (``passerelle.proto.frames``);
2. answer one small ``sent`` frame (the per-message ack to the sender);
3. keep a copy of the envelope, and after every ``BATCH_EVERY`` inbound frames send one ``deliver``
   frame of about 2 KB (``ITEMS_PER_BATCH`` envelopes) as a stand-in for a batched delivery.

The environment variable ``WS_BENCH_BATCH_EVERY`` (read per connection; run.py ``--batch-every``)
changes 32 to another number: 1 models delivery without any batching (one ``deliver`` frame with one
envelope per message).

Nothing here touches a socket: the servers differ only in the WebSocket layer around this.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

import msgspec

from passerelle.proto.frames import ClientFrame, Deliver, Item, Send, Sent

WS_PATH: Final = "/v1/ws"
BATCH_EVERY: Final = 32
ITEMS_PER_BATCH: Final = 4
BATCH_EVERY_ENV: Final = "WS_BENCH_BATCH_EVERY"

_decoder: Final = msgspec.json.Decoder(ClientFrame)
_encode: Final = msgspec.json.Encoder().encode

# A ~300-byte Olm envelope as the protocol describes it (section 6); the server never parses it.
_ENVELOPE: Final = (
    b'{"algorithm":"m.olm.v1.curve25519-aes-sha2","sender_key":"'
    + b"S" * 43
    + b'","ciphertext":{"'
    + b"R" * 43
    + b'":{"type":1,"body":"'
    + b"Q" * 120
    + b'"}}}'
)
_SEND_PREFIX: Final = b'{"t":"send","id":"m'
_SEND_SUFFIX: Final = (
    b'","to":"acct-0000000000000000bob","payloads":{"dev-00000000000000bob1":' + _ENVELOPE + b"}}"
)


def send_frame(i: int) -> bytes:
    """The client's ``send`` frame number ``i`` (about 400 bytes of JSON)."""
    return b"%b%08d%b" % (_SEND_PREFIX, i, _SEND_SUFFIX)


class NotASendFrame(Exception):
    pass


class FrameWork:
    """Per-connection state of the work every server does for each inbound frame."""

    __slots__ = ("_batch_every", "_handled", "_items_per_batch", "_pending")

    def __init__(self) -> None:
        self._batch_every = int(os.environ.get(BATCH_EVERY_ENV, BATCH_EVERY))
        self._items_per_batch = min(ITEMS_PER_BATCH, self._batch_every)
        self._handled = 0
        self._pending: list[msgspec.Raw] = []

    @property
    def handled(self) -> int:
        return self._handled

    def handle(self, data: bytes | str | memoryview) -> tuple[bytes, bytes | None]:
        """Decode one inbound frame; return the ``sent`` reply and, every ``BATCH_EVERY`` frames, a
        ``deliver`` frame. ``data`` may be a view into the layer's read buffer: nothing kept refers to it."""
        frame = _decoder.decode(data)
        if not isinstance(frame, Send):
            raise NotASendFrame(type(frame).__name__)
        self._handled += 1
        now_ms = time.time_ns() // 1_000_000
        reply = _encode(Sent(id=frame.id, mid=self._handled, conv="conv-bench", ts=now_ms, exp=now_ms + 1))
        if len(self._pending) < self._items_per_batch:
            for body in frame.payloads.values():
                # Raw.copy(): the decoded Raw may point into a borrowed (zero-copy) buffer.
                self._pending.append(body.copy())
        if self._handled % self._batch_every:
            return reply, None
        items = [
            Item(
                pos=self._handled - len(self._pending) + i,
                kind="msg",
                conv="conv-bench",
                sender="acct-0000000000000000alice",
                dev="dev-0000000000000alice1",
                ts=now_ms,
                exp=now_ms + 1,
                body=body,
                mid=self._handled + i,
            )
            for i, body in enumerate(self._pending)
        ]
        self._pending.clear()
        return reply, _encode(Deliver(items=items))


def acks_in(payload: bytes) -> int:
    """How many ``send`` frames this server frame acknowledges: 1 for a ``sent`` frame, n for a JSON
    array of n ``sent`` frames (burst-batched acks), 0 for a ``deliver``."""
    if payload[:1] == b"[":
        return payload.count(b'{"t":"sent"')
    return 1 if payload[:11] == b'{"t":"sent"' else 0  # msgspec writes the tag first


# --- process CPU -----------------------------------------------------------------------------------

_CLK_TCK: Final = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid``, all its threads, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), in clock ticks
    return utime / _CLK_TCK, stime / _CLK_TCK


# --- server process plumbing ---------------------------------------------------------------------


def server_args(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    return parser


def run(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
