"""picows server: ``ws_create_server`` + a ``WSListener`` subclass; frames handled in the callback."""

from __future__ import annotations

import asyncio

from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from benchmarks.ws_layers.common import WS_PATH, FrameWork, run, server_args


class GatewayListener(WSListener):
    def __init__(self) -> None:
        self._work = FrameWork()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            # Zero-copy view into picows's read buffer; valid only during this call.
            reply, batch = self._work.handle(frame.get_payload_as_memoryview())
            transport.send(WSMsgType.TEXT, reply)
            if batch is not None:
                transport.send(WSMsgType.TEXT, batch)
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def pause_writing(self) -> None:  # the kernel send buffer + transport buffer is over its high mark
        pass

    def resume_writing(self) -> None:
        pass


def route(request: WSUpgradeRequest) -> GatewayListener | None:
    if request.path != WS_PATH.encode():
        return None  # picows answers 404
    return GatewayListener()


async def main(host: str, port: int, aiofastnet: bool) -> None:
    server = await ws_create_server(
        route, host, port, max_frame_size=1 << 20, use_aiofastnet=aiofastnet, logger_name="bench"
    )
    async with server:
        await server.serve_forever()


def cli() -> None:
    parser = server_args(__doc__ or "")
    parser.add_argument("--no-aiofastnet", action="store_true", help="plain asyncio transports")
    args = parser.parse_args()
    run(lambda: main(args.host, args.port, not args.no_aiofastnet), args.loop)


if __name__ == "__main__":
    cli()
