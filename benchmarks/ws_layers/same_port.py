"""One port, two stacks: uvicorn serves Starlette REST, and a connection whose first request is a
WebSocket upgrade to ``WS_PATH`` is handed over to picows. Measured by run.py; checked by check_http.py.

How: uvicorn lets ``Config(http=...)`` be any protocol class. ``PortSharingProtocol`` reads only the
first request head, then swaps the connection's protocol (``transport.set_protocol``) to uvicorn's
own HTTP protocol or to picows's ``WSProtocol`` and replays the bytes it read. After the swap it is
out of the data path. NOT a supported picows API: ``picows.picows.WSProtocol`` and its positional
constructor arguments are internal (copied from ``picows.api.ws_create_server``, picows 2.3.1) and may
change in any release; uvicorn does not count the handed-over connections (graceful shutdown and
``limit_concurrency`` ignore them), so the application must close them itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import picows.picows as picows_impl
import uvicorn
from benchmarks.ws_layers.common import WS_PATH, server_args
from benchmarks.ws_layers.server_picows import GatewayListener
from picows import WSAutoPingStrategy, WSListener, WSUpgradeRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

MAX_HEAD = 16 * 1024
WSRoute = Callable[[WSUpgradeRequest], WSListener | None]


def is_websocket_upgrade(head: bytes, path: bytes) -> bool:
    """``head``: the request line and headers, without the blank line."""
    request_line, _, headers = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[1].split(b"?", 1)[0] != path:
        return False
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and value.strip().lower() == b"websocket":
            return True
    return False


def make_picows_protocol(route: WSRoute) -> asyncio.BufferedProtocol:
    """A server-side picows protocol, built as ``ws_create_server`` builds it (internal API)."""
    protocol: asyncio.BufferedProtocol = picows_impl.WSProtocol(  # type: ignore[attr-defined]
        None,  # host+port (client side only)
        None,  # path (client side only)
        False,  # is_client_side
        route,
        logging.getLogger("picows.bench"),
        True,  # disconnect_on_exception
        5.0,  # websocket_handshake_timeout
        False,  # enable_auto_ping
        20.0,  # auto_ping_idle_timeout
        20.0,  # auto_ping_reply_timeout
        WSAutoPingStrategy.PING_WHEN_IDLE,
        True,  # enable_auto_pong
        1 << 20,  # max_frame_size
        None,  # extra_headers (client side only)
        16 * 1024,  # read_buffer_init_size
    )
    return protocol


def feed_buffered(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
    view = memoryview(data)
    while view:
        buf = memoryview(protocol.get_buffer(len(view)))
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]


def port_sharing_protocol(route: WSRoute, ws_path: str) -> type[asyncio.Protocol]:
    path = ws_path.encode()

    class PortSharingProtocol(asyncio.Protocol):
        def __init__(
            self,
            config: uvicorn.Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            self._config = config
            self._server_state = server_state
            self._app_state = app_state
            self._loop = _loop
            self._transport: asyncio.Transport | None = None
            self._head = bytearray()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport

        def data_received(self, data: bytes) -> None:
            assert self._transport is not None
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > MAX_HEAD:
                    self._transport.close()
                return
            buffered = bytes(self._head)
            self._head.clear()
            if is_websocket_upgrade(buffered[:end], path):
                ws = make_picows_protocol(route)
                self._transport.set_protocol(ws)
                ws.connection_made(self._transport)
                feed_buffered(ws, buffered)
            else:
                http = H11Protocol(self._config, self._server_state, self._app_state, self._loop)
                self._transport.set_protocol(http)
                http.connection_made(self._transport)
                http.data_received(buffered)

        def connection_lost(self, exc: Exception | None) -> None:
            self._transport = None

    return PortSharingProtocol


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"received": len(body)})


def rest_app() -> Starlette:
    return Starlette(routes=[Route("/v1/health", health), Route("/v1/echo", echo, methods=["POST"])])


def route(request: WSUpgradeRequest) -> WSListener | None:
    return GatewayListener() if request.path == WS_PATH.encode() else None


def cli() -> None:
    args = server_args(__doc__ or "").parse_args()
    config = uvicorn.Config(
        rest_app(),
        host=args.host,
        port=args.port,
        loop=args.loop,
        http=port_sharing_protocol(route, WS_PATH),
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    cli()
