"""Functional checks behind the README's "one port for REST and WebSocket?" answer. Starts the servers
as child processes on 127.0.0.1, prints one line per check, exits 1 if any failed."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from benchmarks.ws_layers.common import WS_PATH, acks_in, send_frame
from benchmarks.ws_layers.gateway_pattern import PUSH_PATH
from benchmarks.ws_layers.run import free_port, wait_listening
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

ROOT = Path(__file__).resolve().parents[2]
results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)


def raw_http(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh TCP connection; read until the server closes (5 s at most)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


class Recorder(WSListener):
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.close_code: int | None = None
        self.got = asyncio.Event()
        self.closed = asyncio.Event()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            self.closed.set()
        else:
            self.frames.append(frame.get_payload_as_bytes())
            self.got.set()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed.set()


async def ws_round_trip(port: int) -> bytes:
    transport, listener = await ws_connect(Recorder, f"ws://127.0.0.1:{port}{WS_PATH}")
    assert isinstance(listener, Recorder)
    transport.send(WSMsgType.TEXT, send_frame(7))
    async with asyncio.timeout(5):
        await listener.got.wait()
    transport.send_close(WSCloseCode.OK)
    transport.disconnect()
    return listener.frames[0]


async def bad_frames_close_code(port: int) -> int | None:
    transport, listener = await ws_connect(Recorder, f"ws://127.0.0.1:{port}{WS_PATH}")
    assert isinstance(listener, Recorder)
    for _ in range(20):
        transport.send(WSMsgType.TEXT, b'{"t":"nope"}')
    async with asyncio.timeout(5):
        await listener.closed.wait()
    return listener.close_code


async def slow_consumer(port: int) -> tuple[int | None, int, float]:
    """Stop reading for a while; then read everything and report the close code and what arrived."""
    transport, listener = await ws_connect(Recorder, f"ws://127.0.0.1:{port}{PUSH_PATH}")
    assert isinstance(listener, Recorder)
    transport.underlying_transport.pause_reading()
    await asyncio.sleep(1.0)  # the thing under test is "the peer does not read"; nothing to wait on
    transport.underlying_transport.resume_reading()
    start = time.monotonic()
    async with asyncio.timeout(5):
        await listener.closed.wait()
    return listener.close_code, sum(len(f) for f in listener.frames), time.monotonic() - start


def with_server(args: list[str], port: int, body: Callable[[], None]) -> None:
    server = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT)
    try:
        wait_listening(port, server, timeout=15)
        body()
    finally:
        server.terminate()
        server.wait(timeout=10)


def same_port_checks() -> None:
    port = free_port()

    def body() -> None:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as http:  # one keep-alive connection for both requests
            r1 = http.get("/v1/health")
            r2 = http.post("/v1/echo", content=b"x" * 5000)
        check("same port: REST GET", r1.status_code == 200 and r1.json() == {"ok": True}, r1.text)
        check("same port: REST POST with body (keep-alive)", r2.json() == {"received": 5000}, r2.text)
        reply = asyncio.run(ws_round_trip(port))
        check("same port: WebSocket via picows", acks_in(reply) == 1, reply[:40].decode())
        r3 = httpx.get(f"{base}/elsewhere")
        check("same port: unknown path -> Starlette 404", r3.status_code == 404)

    with_server(["benchmarks.ws_layers.same_port", "--port", str(port)], port, body)


def picows_and_gateway_checks() -> None:
    ws_port, http_port = free_port(), free_port()

    def body() -> None:
        health = raw_http(
            ws_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        check(
            "picows port: plain GET answered (WSUpgradeResponseWithListener), then connection closed",
            health.startswith(b"HTTP/1.1 200")
            and health.count(b"HTTP/1.1") == 1
            and b"Connection: close" in health,
            repr(health.split(b"\r\n")[0]) + f", responses on one connection: {health.count(b'HTTP/1.1')}",
        )
        post = raw_http(ws_port, b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        check("picows port: POST with a body is refused", post.startswith(b"HTTP/1.1 400"), repr(post[:80]))
        status = httpx.get(f"http://127.0.0.1:{http_port}/v1/status")
        check("two ports, one loop: uvicorn REST answers", status.status_code == 200, status.text)
        reply = asyncio.run(ws_round_trip(ws_port))
        check("two ports, one loop: WebSocket round trip", acks_in(reply) == 1)
        code = asyncio.run(bad_frames_close_code(ws_port))
        check("close with an application code (4002 after 20 bad frames)", code == 4002, f"client saw {code}")
        code, received, took = asyncio.run(slow_consumer(ws_port))
        check(
            "slow consumer: write buffer over 1 MiB -> CLOSE 1013 after the queued data",
            code == 1013,
            f"client saw {code} after reading {received / 1e6:.1f} MB in {took:.2f}s",
        )

    with_server(
        ["benchmarks.ws_layers.gateway_pattern", "--port", str(ws_port), "--http-port", str(http_port)],
        ws_port,
        body,
    )


def main() -> None:
    same_port_checks()
    picows_and_gateway_checks()
    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
