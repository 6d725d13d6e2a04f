"""Load client (picows, its own process): N connections, each keeping ``window`` ``send`` frames in
flight, until ``frames`` acks came back in total. Prints one JSON object on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

from benchmarks.ws_layers.common import WS_PATH, acks_in, send_frame
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect


class LoadListener(WSListener):
    def __init__(self, base: int, total: int, window: int, done: asyncio.Future[None]) -> None:
        self._base = base  # frame ids of this connection: base .. base + total - 1
        self._total = total
        self._window = window
        self._done = done
        self._sent = 0
        self._acked = 0
        self.batches = 0
        self._transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport

    def start(self) -> None:
        for _ in range(min(self._window, self._total)):
            self._send_next()

    def _send_next(self) -> None:
        assert self._transport is not None
        self._transport.send(WSMsgType.TEXT, send_frame(self._base + self._sent))
        self._sent += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            if not self._done.done():
                self._done.set_exception(ConnectionError(f"closed by server: {frame.get_close_code()}"))
            return
        acks = acks_in(frame.get_payload_as_bytes())
        if not acks:
            self.batches += 1
            return
        self._acked += acks
        for _ in range(min(acks, self._total - self._sent)):
            self._send_next()
        if self._acked == self._total and not self._done.done():
            self._done.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self._done.done():
            self._done.set_exception(ConnectionError("disconnected before all acks came back"))


async def main(url: str, connections: int, frames: int, window: int, limit_s: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    per_conn = frames // connections
    listeners: list[LoadListener] = []
    waits: list[asyncio.Future[None]] = []
    transports: list[WSTransport] = []
    for c in range(connections):
        done: asyncio.Future[None] = loop.create_future()

        def factory(c: int = c, done: asyncio.Future[None] = done) -> LoadListener:
            return LoadListener(c * per_conn, per_conn, window, done)

        transport, listener = await ws_connect(factory, url, max_frame_size=1 << 20)
        assert isinstance(listener, LoadListener)
        listeners.append(listener)
        waits.append(done)
        transports.append(transport)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for listener in listeners:
        listener.start()
    async with asyncio.timeout(limit_s):
        await asyncio.gather(*waits)
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for transport in transports:
        transport.send_close()
    for transport in transports:
        transport.disconnect()
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "frames": float(per_conn * connections),
        "batches": float(sum(listener.batches for listener in listeners)),
        "elapsed_s": elapsed,
        "client_cpu_s": client_cpu,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=55.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    url = f"ws://127.0.0.1:{args.port}{WS_PATH}"
    result = asyncio.run(main(url, args.connections, args.frames, args.window, args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    cli()
