"""The gateway on picows, a Cython WebSocket layer: about half the CPU per frame of the ASGI path
(benchmarks/ws_layers). It listens on its own port (``ws_port``) beside uvicorn, in the same event
loop; a reverse proxy routes ``/v1/ws`` to it.

picows calls ``on_ws_frame`` synchronously for every frame; the listener feeds the payload to the
connection's QueuedFrames, which hands it to the gateway there and then when the connection's read
loop is idle (an ack, or a send whose checks are all cached: no task wakes up), and otherwise queues
it for the read loop, which drains the queue in order. The read loop is a task per connection until
``welcome``; after it, a task started when a message must wait and ended when the queue is empty,
so an idle connection holds no task (``QueuedFrames.detach``). Past ``recv_buffer_bytes`` waiting,
the QueuedFrames stops reading from the socket until the read loop catches up. Frames to the client
are written synchronously; the transport's write buffer is the bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, cast

from multidict import CIMultiDict, CIMultiDictProxy
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from passerelle.domain.proxies import DEFAULT as DEFAULT_PROXIES
from passerelle.domain.proxies import TrustedProxies
from passerelle.server.ws.connection import Connection
from passerelle.server.ws.frames_in import QueuedFrames
from passerelle.server.ws.gateway import Gateway
from passerelle.service.limiter import client_key_of

log = logging.getLogger("passerelle.gateway")
PATH = b"/v1/ws"
TOO_BIG = 1009
READ_BUFFER_BYTES = 2048
"""Each connection's first read buffer (picows's smallest; its default is 16 KB). An idle connection
only ever reads ``hello`` and acks; picows grows the buffer for a larger frame (up to the frame
limit). 16 KB of 20 000 idle connections is 320 MB (benchmarks/README.md, scenario e)."""
NO_HEADERS = cast("CIMultiDict[str]", CIMultiDictProxy(CIMultiDict[str]()))
"""Read-only and shared: what an open connection's upgrade request and response hold as headers.
picows keeps both for the connection's life but reads them only during the handshake (~1 KB per
connection, more for a browser's headers; scenario e)."""
PICOWS_LOG = logging.LoggerAdapter(logging.getLogger("picows.server"))
"""picows's log: given as a Logger, picows makes a child Logger per connection (its name ends with
the socket's descriptor), ~0.6 KB each kept for the connection's life; an adapter it uses as is."""


class PicowsTransport:
    __slots__ = ("_ws",)

    def __init__(self, ws: WSTransport) -> None:
        self._ws = ws

    @property
    def direct(self) -> bool:
        return True

    def write_now(self, data: bytes) -> None:
        self._ws.send(WSMsgType.TEXT, data)

    def write_many(self, frames: list[bytes]) -> None:
        # Server-to-client frames are unmasked (RFC 6455 §5.1), so several text frames are just their
        # headers and payloads end to end: one write, one system call.
        parts: list[bytes] = []
        for data in frames:
            size = len(data)
            if size < 126:
                parts.append(bytes((0x81, size)))
            elif size < 65536:
                parts.append(bytes((0x81, 126)) + size.to_bytes(2, "big"))
            else:
                parts.append(bytes((0x81, 127)) + size.to_bytes(8, "big"))
            parts.append(data)
        self._ws.underlying_transport.write(b"".join(parts))

    def buffered(self) -> int:
        return self._ws.underlying_transport.get_write_buffer_size()

    def is_closed(self) -> bool:
        return self._ws.is_disconnected or self._ws.is_close_frame_sent

    async def send_text(self, data: bytes) -> None:
        self.write_now(data)

    async def close(self, code: int, reason: str = "") -> None:
        self.close_now(code, reason)

    def close_now(self, code: int, reason: str = "") -> None:
        if not self._ws.is_close_frame_sent:
            self._ws.send_close(WSCloseCode(code), reason.encode()[:120])
        self._ws.disconnect(graceful=True)


def _peer(transport: WSTransport, forwarded_for: str | None, proxies: TrustedProxies) -> str | None:
    """The client's address: the peer's, or behind a trusted proxy the last one it forwarded."""
    peer = transport.underlying_transport.get_extra_info("peername")
    host = str(peer[0]) if isinstance(peer, tuple) and peer else None
    return proxies.client(host, forwarded_for)


class _Listener(WSListener):
    def __init__(self, server: PicowsGateway, forwarded_for: str | None = None) -> None:
        self._server = server
        self._forwarded_for = forwarded_for
        self._frames = QueuedFrames(max_bytes=server.recv_buffer_bytes)
        self._partial: bytearray | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._frames.flow = transport.underlying_transport
        client = client_key_of(_peer(transport, self._forwarded_for, self._server.proxies))
        self._forwarded_for = None
        transport.request.headers = NO_HEADERS
        transport.response.headers = NO_HEADERS
        conn = self._server.gateway.connection(PicowsTransport(transport), client)
        self._server.start(conn, self._frames)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._frames.feed(frame.get_payload_as_bytes())
            else:
                self._partial = bytearray(frame.get_payload_as_memoryview())
        elif kind is WSMsgType.CONTINUATION:
            if self._partial is None:
                return
            self._partial += frame.get_payload_as_memoryview()
            if len(self._partial) > self._server.max_frame_bytes:
                # Let the read loop answer it like any oversized message.
                self._frames.feed(bytes(self._partial))
                self._partial = None
            elif frame.fin:
                self._frames.feed(bytes(self._partial))
                self._partial = None
        elif kind is WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code())
            transport.disconnect()
            self._frames.feed_eof()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._frames.feed_eof()


class PicowsGateway:
    """Owns the picows listening socket and the per-connection tasks."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        max_frame_bytes: int,
        recv_buffer_bytes: int = 1 << 20,
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.gateway = gateway
        self.proxies = proxies or TrustedProxies(DEFAULT_PROXIES)
        """Peers whose X-Forwarded-For names the client (the ``trusted_proxies`` setting)."""
        self.max_frame_bytes = max_frame_bytes
        self.recv_buffer_bytes = recv_buffer_bytes
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start_listening(self, host: str, port: int) -> None:
        def route(request: WSUpgradeRequest) -> WSListener | None:
            path = request.path.split(b"?", 1)[0]
            if path != PATH:
                return None
            forwarded = ",".join(request.headers.getall("x-forwarded-for", ()))
            return _Listener(self, forwarded or None)

        self._server = await ws_create_server(
            route,
            host,
            port,
            websocket_handshake_timeout=5,
            max_frame_size=self.max_frame_bytes + 4096,
            enable_auto_pong=True,
            read_buffer_init_size=READ_BUFFER_BYTES,
            # The event loop's own transport (uvloop): aiofastnet's, picows's default when installed,
            # costs ~5 KB more per connection for no measurable CPU gain (benchmarks/ws_layers).
            use_aiofastnet=False,
            logger_name=PICOWS_LOG,
        )

    def start(self, conn: Connection, frames: QueuedFrames) -> None:
        """Serve a new connection: its read loop until ``welcome``; then its messages are taken in
        ``on_ws_frame`` or by a task that exists only while some wait (an idle connection holds
        none: scenario e)."""
        self.spawn(self.gateway.serve(conn, frames, self.spawn))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name="ws-conn")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def stop_listening(self) -> None:
        """Accept no new connection; those already open go on."""
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Stop listening, then wait (briefly) for the connections' own tasks to finish."""
        if self._server is not None:
            self._server.close()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
