"""picows server: ``ws_create_server`` + a ``WSListener`` subclass; frames handled in the callback.

``--coalesce`` (beyond the common per-frame work, to see where the CPU goes):
  none   one ``send()`` syscall per outbound frame (what every other candidate does too);
  cork   same frames, but TCP_CORK is set on the first frame of a read burst and cleared after the
         last one (``frame.last_in_buffer``), so the kernel transmits once per burst;
  burst  the acks of one read burst go out as ONE frame (a JSON array of ``sent``): protocol-level
         ack batching, which the gateway design allows.
"""

from __future__ import annotations

import socket

from benchmarks.ws_layers.common import WS_PATH, FrameWork, run, server_args
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)


class GatewayListener(WSListener):
    """One reply frame per inbound frame, written at once (one ``send()`` syscall each)."""

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


class CorkListener(WSListener):
    """Same frames as GatewayListener, but the kernel is asked to hold them until the burst ends."""

    def __init__(self) -> None:
        self._work = FrameWork()
        self._sock: socket.socket | None = None
        self._corked = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._sock = transport.underlying_transport.get_extra_info("socket")

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            assert self._sock is not None
            last = frame.last_in_buffer
            if not last and not self._corked:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                self._corked = True
            reply, batch = self._work.handle(frame.get_payload_as_memoryview())
            transport.send(WSMsgType.TEXT, reply)
            if batch is not None:
                transport.send(WSMsgType.TEXT, batch)
            if last and self._corked:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
                self._corked = False
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


class BurstAckListener(WSListener):
    """The acks of one read burst go out together as one frame after its last inbound frame."""

    def __init__(self) -> None:
        self._work = FrameWork()
        self._acks: list[bytes] = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            reply, batch = self._work.handle(frame.get_payload_as_memoryview())
            self._acks.append(reply)
            if batch is not None:
                transport.send(WSMsgType.TEXT, batch)
            if frame.last_in_buffer:
                transport.send(WSMsgType.TEXT, b"[" + b",".join(self._acks) + b"]")
                self._acks.clear()
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


LISTENERS: dict[str, type[WSListener]] = {
    "none": GatewayListener,
    "cork": CorkListener,
    "burst": BurstAckListener,
}


async def main(host: str, port: int, aiofastnet: bool, coalesce: str) -> None:
    listener_class = LISTENERS[coalesce]

    def route(request: WSUpgradeRequest) -> WSListener | None:
        if request.path != WS_PATH.encode():
            return None  # picows answers 404 and closes
        return listener_class()

    server = await ws_create_server(
        route, host, port, max_frame_size=1 << 20, use_aiofastnet=aiofastnet, logger_name="bench"
    )
    async with server:
        await server.serve_forever()


def cli() -> None:
    parser = server_args(__doc__ or "")
    parser.add_argument("--no-aiofastnet", action="store_true", help="plain asyncio transports")
    parser.add_argument("--coalesce", choices=sorted(LISTENERS), default="none")
    args = parser.parse_args()
    run(lambda: main(args.host, args.port, not args.no_aiofastnet, args.coalesce), args.loop)


if __name__ == "__main__":
    cli()
