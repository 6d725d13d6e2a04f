"""One bench WebSocket connection (picows: callbacks, no task per connection), what every connection
of a scenario counts (``Recorder``), and the sending side of a pair (``Sender``).

Frames from the server are decoded with lean msgspec Structs that keep only what the bench reads.
A receiver acks the last position of a deliver frame once ``ack_batch`` items are unacked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from time import perf_counter_ns

import msgspec
from picows import WSCloseCode, WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from passerelle.cli.bench.accounting import REJECTION_THAT_STOPS, Inbox
from passerelle.cli.bench.envelopes import (
    SendFrames,
    ack_frame,
    hello_frame,
    login_frame,
    ping_frame,
    read_stamp,
)
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.identity import BenchAccount

MAX_FRAME = 4 << 20


class _In(msgspec.Struct, tag_field="t"):
    pass


class WelcomeIn(_In, tag="welcome"):
    device: str
    token: str | None = None


class ChallengeIn(_In, tag="challenge"):
    challenge: str


class SentIn(_In, tag="sent"):
    id: str
    mid: int = 0


class ItemIn(msgspec.Struct):
    pos: int
    kind: str
    body: msgspec.Raw
    mid: int | None = None


class DeliverIn(_In, tag="deliver"):
    items: list[ItemIn]


class ErrorIn(_In, tag="error"):
    code: str
    ref: str | None = None


class PongIn(_In, tag="pong"):
    n: int = 0


class KeysLowIn(_In, tag="keys_low"):
    pass


class TypingIn(_In, tag="typing"):
    pass


_decode = msgspec.json.Decoder(
    WelcomeIn | ChallengeIn | SentIn | DeliverIn | ErrorIn | PongIn | KeysLowIn | TypingIn
).decode


class Recorder:
    """Counts shared by the connections of one scenario (touched only by the event loop thread)."""

    __slots__ = (
        "aborted",
        "base_ns",
        "bin_ns",
        "bins",
        "changed",
        "delivered",
        "delivered_total",
        "errors",
        "latencies_ns",
        "recording",
        "rejected",
        "start_ns",
        "stopped",
    )

    def __init__(self) -> None:
        self.recording = False
        self.base_ns = 0
        """When set, latencies are measured from this instant instead of the envelope's stamp."""
        self.delivered = 0
        """Messages received while recording."""
        self.delivered_total = 0
        self.latencies_ns: list[int] = []
        self.errors: dict[str, int] = {}
        """Error frames that answer no send, lost connections, shortfalls."""
        self.rejected: dict[str, int] = {}
        """Sends answered with an error frame, by code."""
        self.aborted: str | None = None
        """Set on the first send the server rejects as ``rate_limited``: senders stop."""
        self.stopped = asyncio.Event()
        """Set with ``aborted``."""
        self.start_ns = 0
        self.bin_ns = 100_000_000
        self.bins: list[int] = []
        """Messages received while recording, per ``bin_ns`` since ``start``."""
        self.changed = asyncio.Event()
        """Set after every frame that answers a send or delivers, and every disconnect."""

    def start(self, *, base_ns: int = 0) -> None:
        self.recording = True
        self.base_ns = base_ns
        self.delivered = 0
        self.latencies_ns = []
        self.start_ns = perf_counter_ns()
        self.bins = []

    def stop(self) -> None:
        self.recording = False

    def error(self, code: str, count: int = 1) -> None:
        self.errors[code] = self.errors.get(code, 0) + count
        self.changed.set()

    def reject(self, code: str) -> None:
        self.rejected[code] = self.rejected.get(code, 0) + 1
        if code == REJECTION_THAT_STOPS and self.aborted is None:
            self.aborted = code
            self.stopped.set()
        self.changed.set()

    def count_in_bin(self, now_ns: int, count: int) -> None:
        index = (now_ns - self.start_ns) // self.bin_ns
        bins = self.bins
        while len(bins) <= index:
            bins.append(0)
        bins[index] += count


def _nothing() -> None:
    return None


class BenchSocket(WSListener):
    def __init__(self, recorder: Recorder, *, ack_batch: int, loop: asyncio.AbstractEventLoop) -> None:
        self.recorder = recorder
        self.ack_batch = ack_batch
        self.transport: WSTransport | None = None
        self.welcome: asyncio.Future[None] = loop.create_future()
        self.gone: asyncio.Future[None] = loop.create_future()
        self.on_reply: Callable[[], None] = _nothing
        """Called for every ``sent``, and every ``error`` that answers a send."""
        self.on_received: Callable[[int], None] | None = None
        """Called with the number of new messages in each deliver frame."""
        self.on_challenge: Callable[[str], bytes] | None = None
        """A login on the connection: the signed ``hello`` to answer a ``challenge`` with."""
        self.token: str | None = None
        """The token ``welcome`` brought after a signed ``hello``."""
        self.inbox = Inbox()
        """The message ids this device received."""
        self.confirmed: list[int] = []
        """The message ids of this device's sends that the server confirmed."""
        self.replies = 0
        self.sent_ok = 0
        self.last_pos = 0
        self.acked_pos = 0
        self.closing = False
        self.lost = False
        """Closed or disconnected by the server or the network, not by the bench."""
        self._parts: list[bytes] = []
        self._pongs: dict[int, asyncio.Future[None]] = {}
        self._pings = 0
        self._loop = loop

    # --- picows callbacks ---------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._handle(frame.get_payload_as_bytes())
            else:
                self._parts = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION:
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self._parts = b"".join(self._parts), []
                self._handle(data)
        elif kind is WSMsgType.CLOSE:
            if not self.closing:
                code = frame.get_close_code()
                self.recorder.error(f"closed_{getattr(code, 'value', code)}")
                self.closing = self.lost = True
            with contextlib.suppress(WSError, OSError, RuntimeError):
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.recorder.changed.set()
        if not self.closing:
            self.lost = True
            self.recorder.error("disconnected")
        for future in (self.welcome, self.gone, *self._pongs.values()):
            if not future.done():
                future.set_result(None)

    # --- frames from the server -----------------------------------------------------------------

    def _handle(self, data: bytes) -> None:
        try:
            frame = _decode(data)
        except msgspec.DecodeError:
            self.recorder.error("client_decode")
            return
        kind = type(frame)
        if kind is SentIn:
            assert isinstance(frame, SentIn)
            self.confirmed.append(frame.mid)
            self.replies += 1
            self.sent_ok += 1
            self.on_reply()
            self.recorder.changed.set()
        elif kind is DeliverIn:
            assert isinstance(frame, DeliverIn)
            self._deliver(frame.items)
        elif kind is ErrorIn:
            assert isinstance(frame, ErrorIn)
            if frame.ref is None:
                self.recorder.error(frame.code)
            else:
                self.recorder.reject(frame.code)
                self.replies += 1
                self.on_reply()
                self.recorder.changed.set()
        elif kind is ChallengeIn:
            assert isinstance(frame, ChallengeIn)
            if self.on_challenge is not None:
                self.send(self.on_challenge(frame.challenge))
        elif kind is WelcomeIn:
            assert isinstance(frame, WelcomeIn)
            self.token = frame.token
            if not self.welcome.done():
                self.welcome.set_result(None)
        elif kind is PongIn:
            assert isinstance(frame, PongIn)
            pong = self._pongs.pop(frame.n, None)
            if pong is not None and not pong.done():
                pong.set_result(None)

    def _deliver(self, items: list[ItemIn]) -> None:
        if not items:
            return
        now = perf_counter_ns()
        rec = self.recorder
        receive = self.inbox.receive
        messages = [
            item for item in items if item.kind == "msg" and item.mid is not None and receive(item.mid)
        ]
        rec.delivered_total += len(messages)
        if self.on_received is not None and messages:
            self.on_received(len(messages))
        if rec.recording:
            rec.delivered += len(messages)
            rec.count_in_bin(now, len(messages))
            latencies = rec.latencies_ns
            if rec.base_ns:
                latencies.extend([now - rec.base_ns] * len(messages))
            else:
                for item in messages:
                    stamp = read_stamp(bytes(item.body))
                    if stamp is not None:
                        latencies.append(now - stamp)
        rec.changed.set()
        self.last_pos = max(self.last_pos, items[-1].pos)
        if self.last_pos - self.acked_pos >= self.ack_batch:
            self.flush_ack()

    # --- to the server ------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.closing:
            self.transport.send(WSMsgType.TEXT, data)

    def flush_ack(self) -> None:
        if self.last_pos > self.acked_pos:
            self.acked_pos = self.last_pos
            self.send(ack_frame(self.last_pos))

    async def ping(self) -> None:
        """Send a ping and wait for its pong: every frame sent before it has been read by the server."""
        self._pings += 1
        n = self._pings
        future: asyncio.Future[None] = self._loop.create_future()
        self._pongs[n] = future
        self.send(ping_frame(n))
        await future

    async def close(self) -> None:
        if self.transport is None or self.gone.done():
            return
        self.closing = True
        with contextlib.suppress(WSError, OSError, RuntimeError):
            self.transport.send_close(WSCloseCode.OK)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self.gone
        self.transport.disconnect()


async def connect(
    url: str,
    account: BenchAccount,
    recorder: Recorder,
    *,
    ack_batch: int,
    sign: Callable[[str], bytes] | None = None,
) -> BenchSocket:
    """Open a WebSocket and say hello; raises BenchError unless ``welcome`` comes back in 10 s.

    With ``sign`` the device logs in on the connection (``login``, then the signed ``hello`` that
    ``sign`` makes of the challenge, in the frame callback): the new token is the socket's ``token``.
    """
    loop = asyncio.get_running_loop()

    def factory() -> BenchSocket:
        socket = BenchSocket(recorder, ack_batch=ack_batch, loop=loop)
        socket.on_challenge = sign
        return socket

    try:
        async with asyncio.timeout(10.0):
            _, listener = await ws_connect(factory, url, max_frame_size=MAX_FRAME)
            if not isinstance(listener, BenchSocket):
                # picows hands back no listener when the server dropped the connection before its
                # upgrade answer (its handshake deadline, or a refused accept()).
                raise BenchError(f"the server closed the connection of {account.handle} before the upgrade")
            listener.send(hello_frame(account.token) if sign is None else login_frame(account.device_id))
            await asyncio.shield(listener.welcome)
    except (OSError, TimeoutError, WSError) as exc:
        raise BenchError(f"could not connect {account.handle} to {url}: {exc!r}") from exc
    if listener.gone.done():
        raise BenchError(f"the server refused the hello of {account.handle}: {recorder.errors}")
    return listener


class Sender:
    """The sending device of a pair: numbers its messages and keeps ``window`` of them in flight."""

    __slots__ = ("frames", "issued", "limit", "received", "running", "socket")

    def __init__(self, socket: BenchSocket, frames: SendFrames) -> None:
        self.socket = socket
        self.frames = frames
        self.issued = 0
        self.limit: int | None = None
        self.running = False
        self.received = 0
        """Messages of this sender its receiver got (refill on receipt)."""

    def send(self, stamp_ns: int = 0) -> None:
        self.socket.send(self.frames.frame(self.issued, stamp_ns or perf_counter_ns()))
        self.issued += 1

    @property
    def in_flight(self) -> int:
        return self.issued - self.socket.replies

    def start_closed_loop(
        self, window: int, *, limit: int | None = None, receiver: BenchSocket | None = None
    ) -> None:
        """Send ``window`` messages, then one more for each reply, or with ``receiver`` for each
        message it receives (up to ``limit`` in all). Stops when a send is rejected as rate limited."""
        self.limit = limit
        self.running = True
        if receiver is None:
            self.socket.on_reply = self._refill
        else:
            receiver.on_received = self._refill_n
        for _ in range(window if limit is None else min(window, limit - self.issued)):
            self.send()

    def _refill(self) -> None:
        if self.running and (self.limit is None or self.issued < self.limit):
            if self.socket.recorder.aborted is None:
                self.send()

    def _refill_n(self, count: int) -> None:
        self.received += count
        for _ in range(count):
            self._refill()

    def stop(self) -> None:
        self.running = False
