"""A lean HTTP/1.1 client for the login bench and the campaign's bot (g): one kept-alive connection, one request at a time,
requests written as bytes and answers parsed by httptools (llhttp, C), on the event loop's own
transport. httpx cost ~60 % of the bench's CPU per login (py-spy, benchmarks/README.md scenario
f): with it the client, not the server, bounded the logins per second on a 2-vCPU machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import cast

import httptools

KEEPALIVE_S = 2.0
"""A connection idle this long is replaced before the next request: well under the server's 5 s,
so a request never races the server closing an idle connection."""


class HttpClosed(ConnectionError):
    """The server closed the connection before its answer, or sent something that is not HTTP."""


class _Exchange(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClosed(f"not an HTTP answer: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        answer, self.answer = self.answer, None
        body, self.body = b"".join(self.body), []
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpClosed("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)


class RawHttp:
    """``POST`` JSON bodies to one server over one kept-alive connection, one at a time."""

    def __init__(
        self, host: str, port: int, *, timeout_s: float = 30.0, headers: Mapping[str, str] | None = None
    ) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._head = (
            f"Host: {host}:{port}\r\n{extra}Content-Type: application/json\r\nContent-Length: ".encode()
        )
        self._conn: _Exchange | None = None
        self._used = 0.0

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and body of the answer; raises HttpClosed or TimeoutError."""
        conn = self._conn
        now = time.monotonic()
        if conn is None or conn.closed or now - self._used > KEEPALIVE_S:
            self.close()
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(_Exchange, self.host, self.port)
            self._conn = conn
        assert conn.transport is not None
        answer: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        conn.answer = answer
        conn.transport.write(
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\n"
            + self._head
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                return await answer
        finally:
            self._used = time.monotonic()

    def close(self) -> None:
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None
