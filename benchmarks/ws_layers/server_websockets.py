"""The ``websockets`` library's own asyncio server (``websockets.asyncio.server.serve``)."""

from __future__ import annotations

from benchmarks.ws_layers.common import WS_PATH, FrameWork, run, server_args
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def handler(ws: ServerConnection) -> None:
    if ws.request is None or ws.request.path != WS_PATH:
        await ws.close(1008, "unknown path")
        return
    work = FrameWork()
    try:
        while True:
            data = await ws.recv(decode=False)  # text frames as bytes: no UTF-8 decode into str
            reply, batch = work.handle(data)
            await ws.send(reply, text=True)
            if batch is not None:
                await ws.send(batch, text=True)
    except ConnectionClosed:
        return


async def main(host: str, port: int) -> None:
    async with serve(handler, host, port, compression=None, max_size=1 << 20) as server:
        await server.serve_forever()


def cli() -> None:
    args = server_args(__doc__ or "").parse_args()
    run(lambda: main(args.host, args.port), args.loop)


if __name__ == "__main__":
    cli()
