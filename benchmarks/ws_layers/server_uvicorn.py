"""uvicorn + a Starlette ``WebSocketRoute``, either as a raw ASGI endpoint or with Starlette's
``WebSocket`` class, over one of uvicorn's WebSocket implementations (``--ws``)."""

from __future__ import annotations

import uvicorn
from benchmarks.ws_layers.common import WS_PATH, FrameWork, server_args
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect


class RawEndpoint:
    """A plain ASGI app: Starlette routes to it but wraps nothing around receive/send."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        work = FrameWork()
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return  # websocket.disconnect
            data = message.get("text")
            reply, batch = work.handle(data if data is not None else message["bytes"])
            # ASGI: a text frame must be given as str.
            await send({"type": "websocket.send", "text": reply.decode()})
            if batch is not None:
                await send({"type": "websocket.send", "text": batch.decode()})


async def starlette_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    work = FrameWork()
    try:
        while True:
            reply, batch = work.handle(await ws.receive_text())
            await ws.send_text(reply.decode())
            if batch is not None:
                await ws.send_text(batch.decode())
    except WebSocketDisconnect:
        return


def make_app(endpoint: str) -> Starlette:
    if endpoint == "asgi":
        return Starlette(routes=[WebSocketRoute(WS_PATH, RawEndpoint())])
    return Starlette(routes=[WebSocketRoute(WS_PATH, starlette_endpoint)])


def cli() -> None:
    parser = server_args(__doc__ or "")
    parser.add_argument("--ws", choices=["websockets-sansio", "websockets", "wsproto"], required=True)
    parser.add_argument("--endpoint", choices=["asgi", "starlette"], required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        make_app(args.endpoint),
        host=args.host,
        port=args.port,
        loop=args.loop,
        ws=args.ws,
        ws_max_size=1 << 20,
        ws_per_message_deflate=False,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    cli()
