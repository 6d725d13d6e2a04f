"""The recommended shape, as a runnable reference: picows for the WebSocket gateway and uvicorn for
REST, two listening ports, one asyncio event loop, one process.

Per connection a ``GatewayConnection`` (a picows ``WSListener``) parses nothing itself: it hands each
frame's bytes to an asyncio task that owns the async work (here the common per-frame work; in the
real gateway the service calls that await storage). That task drains every frame already queued
before it yields, so the per-frame task-switch cost is paid once per read burst.

Shown here, each in one place:
  accept / route        ``route()``: the upgrade request's path and headers; None answers 404
  receive               ``GatewayConnection.on_ws_frame``
  send a text frame     ``transport.send(WSMsgType.TEXT, data)`` in ``GatewayConnection.send_text``
  close with a code     ``GatewayConnection.close`` -> ``send_close(WSCloseCode(code), reason)`` + disconnect
  slow consumer         ``underlying_transport.get_write_buffer_size()`` over ``MAX_WRITE_BUFFER``
                        closes with 1013; ``pause_writing``/``resume_writing`` say when the transport
                        crossed its high/low water marks
  one loop with uvicorn ``main()``: ``ws_create_server`` + ``uvicorn.Server.serve()`` in one loop
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import uvicorn
from benchmarks.ws_layers.common import WS_PATH, FrameWork, NotASendFrame, run, server_args
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_WRITE_BUFFER = 1 << 20  # bytes queued in user space for one connection before it counts as slow
MAX_BAD_FRAMES = 20
CLOSE_PROTOCOL_ERROR = 4002
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_SERVICE_RESTART = 1012
CLOSE_GRACE_S = 5.0
PUSH_PATH = "/v1/push-test"  # a connection that is only pushed to (to show slow-consumer detection)


class GatewayConnection(WSListener):
    def __init__(self, connections: set[GatewayConnection], user_agent: str) -> None:
        self._connections = connections
        self.user_agent = user_agent  # anything the route read from the upgrade request
        self._transport: WSTransport | None = None
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._work = FrameWork()
        self._bad_frames = 0
        self.paused = False

    # --- picows callbacks (synchronous, on the event loop) ---------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self._connections.add(self)
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            self._inbox.put_nowait(frame.get_payload_as_bytes())  # a copy: the frame's buffer is reused
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        # PING is answered by picows itself (enable_auto_pong); PONG and CONTINUATION are ignored here

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._connections.discard(self)
        if self._task is not None:
            self._task.cancel()

    def pause_writing(self) -> None:  # the transport's buffer crossed its high-water mark
        self.paused = True

    def resume_writing(self) -> None:  # ... and drained below the low-water mark
        self.paused = False

    # --- the connection's task -------------------------------------------------------------------

    async def _serve(self) -> None:
        inbox = self._inbox
        while True:
            data = await inbox.get()
            while True:  # everything that is already queued, without yielding
                self._handle(data)
                if inbox.empty():
                    break
                data = inbox.get_nowait()

    def _handle(self, data: bytes) -> None:
        try:
            reply, batch = self._work.handle(data)
        except (ValueError, NotASendFrame):  # msgspec's errors are ValueErrors
            self._bad_frames += 1
            self.send_text(b'{"t":"error","code":"bad_frame","message":"not a send frame"}')
            if self._bad_frames >= MAX_BAD_FRAMES:
                self.close(CLOSE_PROTOCOL_ERROR, "too many malformed frames")
            return
        self.send_text(reply)
        if batch is not None:
            self.send_text(batch)

    # --- what the rest of the gateway calls ------------------------------------------------------

    def send_text(self, data: bytes) -> bool:
        """Queue one text frame; False (and the connection is being closed with 1013) when the peer
        does not keep up."""
        transport = self._transport
        if transport is None or transport.is_close_frame_sent:
            return False
        transport.send(WSMsgType.TEXT, data)
        if transport.underlying_transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.close(CLOSE_TRY_AGAIN_LATER, "slow consumer")
            return False
        return True

    def close(self, code: int, reason: str) -> None:
        """Send CLOSE with ``code`` after whatever is already queued, then close the socket once that
        is written; a peer that still does not read within ``CLOSE_GRACE_S`` is cut off."""
        transport = self._transport
        if transport is None or transport.is_close_frame_sent:
            return
        transport.send_close(WSCloseCode(code), reason.encode())  # any int: picows's enum is "flexible"
        transport.disconnect(graceful=True)  # = underlying_transport.close(): flush, then close
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.underlying_transport.abort)


class PushOnlyConnection(GatewayConnection):
    """Pushes ~2 KB frames until the peer stops reading and the write buffer fills (test aid)."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        blob = b'{"t":"deliver","items":[]}'.ljust(2048)
        asyncio.get_running_loop().call_soon(self._push, blob)

    def _push(self, blob: bytes) -> None:
        for _ in range(64):
            if not self.send_text(blob):
                return
        asyncio.get_running_loop().call_soon(self._push, blob)


WSRoute = Callable[[WSUpgradeRequest], WSListener | WSUpgradeResponseWithListener | None]


def make_route(connections: set[GatewayConnection]) -> WSRoute:
    def route(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        user_agent = request.headers.get("User-Agent", "")
        if request.path == WS_PATH.encode():
            return GatewayConnection(connections, user_agent)
        if request.path == PUSH_PATH.encode():
            return PushOnlyConnection(connections, user_agent)
        if request.path == b"/healthz":  # non-upgrade GET: picows answers it and closes the connection
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok\n"), None)
        return None  # 404

    return route


async def status(request: Request) -> JSONResponse:
    connections: set[GatewayConnection] = request.app.state.connections
    return JSONResponse({"websocket_connections": len(connections)})


async def main(host: str, ws_port: int, http_port: int, loop_name: str) -> None:
    connections: set[GatewayConnection] = set()
    app = Starlette(routes=[Route("/v1/status", status)])
    app.state.connections = connections
    ws_server = await ws_create_server(
        make_route(connections),
        host,
        ws_port,
        max_frame_size=1 << 20,
        websocket_handshake_timeout=5,
        logger_name="gateway",
    )
    http = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=http_port,
            loop=loop_name,
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
    )
    async with ws_server:
        await http.serve()  # returns after SIGINT/SIGTERM
        for connection in list(connections):  # uvicorn does not know these connections
            connection.close(CLOSE_SERVICE_RESTART, "server shutting down")


def cli() -> None:
    parser = server_args(__doc__ or "")
    parser.add_argument("--http-port", type=int, default=0)
    args = parser.parse_args()
    run(lambda: main(args.host, args.port, args.http_port, args.loop), args.loop)


if __name__ == "__main__":
    cli()
