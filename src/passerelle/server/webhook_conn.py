"""``Poster``: the webhook outbox's ``POST``s on kept-alive HTTP/1.1 connections, written by hand.

A webhook event is one small signed ``POST`` to one business's bot, one in flight per business: the
request is a few hundred bytes written at once and the answer is read with httptools (C). httpx did
the same with an anyio/httpcore pool around it, whose bookkeeping (``current_async_library``, the
readability check of every pooled connection) was most of the posts' cost on the event loop.

Rules
1. The exact body bytes are written, with ``Content-Length``; the caller's headers (the signature)
   are written as given (a header name or value with a line break is refused: ``OSError``).
2. Each request is bounded as a whole by ``timeout_s`` (connecting, TLS, writing, the answer);
   the answer's head by ``MAX_HEAD_BYTES``; of its body ``keep`` bytes are kept and at most
   ``MAX_DRAIN_BYTES`` read, so that the connection can be used again; a longer answer (or one
   without a length) closes it. Redirects are not followed (a 3xx is an answer like another).
3. Connections are kept per (scheme, address connected to, port, TLS server name), at most
   ``max_connections`` in use at once and as many idle, each idle one closed after
   ``IDLE_S``. A kept connection the peer closed meanwhile is seen closed and not used; a
   request on a kept connection that gets no byte of answer before the connection ends is
   written once more on a new one (the outbox is at least once anyway).
4. TLS as httpx verifies it (its default context: the same trust store), with the URL's host as
   the server name even when connecting to a pinned address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

import httptools
import httpx

MAX_HEAD_BYTES = 16 * 1024
MAX_DRAIN_BYTES = 64 * 1024
IDLE_S = 15.0
READ_CHUNK = 64 * 1024
_SAFE_TARGET = "!#$%&'()*+,/:;=?@[]~-._"
"""What stays as it is in a request target; anything else (spaces, controls, non-ASCII) is
percent-encoded, as httpx does."""

Origin = tuple[str, str, int, str]
"""(scheme, host or address connected to, port, TLS server name or "")."""


@dataclass(slots=True)
class _Answer:
    """What the parser saw of one answer (httptools' callbacks)."""

    keep: int
    parser: httptools.HttpResponseParser | None = None
    headers_done: bool = False
    done: bool = False
    keep_alive: bool = False
    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    body_bytes: int = 0

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.parser is not None:
            self.status = self.parser.get_status_code()

    def on_body(self, chunk: bytes) -> None:
        self.body_bytes += len(chunk)
        room = self.keep - len(self.body)
        if room > 0:
            self.body += chunk[:room]

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # informational (103 Early Hints...): the answer follows
            self.headers_done = False
            return
        self.done = True
        if self.parser is not None:  # asked here: once the parser moves on it answers False
            self.keep_alive = self.parser.should_keep_alive()


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _NoAnswer(OSError):
    """The connection ended before any byte of the answer."""


class Poster:
    def __init__(self, *, max_connections: int, user_agent: str = "passerelle-webhooks") -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._max_idle = max_connections
        self._idle: dict[Origin, list[_Conn]] = {}
        self._user_agent = user_agent
        self._tls: ssl.SSLContext | None = None

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        server_name: str | None = None,
        keep: int = 1024,
    ) -> tuple[int, bytes]:
        """``POST`` ``body`` to ``url``: (the status, the first ``keep`` bytes of the answer's
        body). ``server_name``: the TLS name and ``Host`` when ``url`` names a pinned address.
        ``OSError`` when no answer came, ``TimeoutError`` past ``timeout_s``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OSError("not an absolute http(s) URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise OSError("the URL's port is not a port") from None
        sni = (server_name or parts.hostname) if parts.scheme == "https" else ""
        origin: Origin = (parts.scheme, parts.hostname, port, sni)
        auth = {}
        if parts.username is not None:  # as httpx: the URL's user and password as Basic auth
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            auth = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        try:
            request = self._request(parts.path, parts.query, parts.netloc, body, {**auth, **headers})
        except (UnicodeError, ValueError):
            raise OSError("a URL or header that cannot be written in a request") from None
        async with asyncio.timeout(timeout_s), self._slots:
            conn, reused = await self._connection(origin)
            try:
                try:
                    answer, status, reusable = await self._exchange(conn, request, keep)
                except _NoAnswer:
                    if not reused:
                        raise
                    conn.close()  # the peer closed the kept connection meanwhile: once on a new one
                    conn = await self._open(origin)
                    answer, status, reusable = await self._exchange(conn, request, keep)
            except BaseException:
                conn.close()
                raise
            if reusable:
                conn.idle_since = time.monotonic()
                self._keep(origin, conn)
            else:
                conn.close()
        return status, bytes(answer.body)

    def _request(self, path: str, query: str, netloc: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        target = quote(path or "/", safe=_SAFE_TARGET) + (
            "?" + quote(query, safe=_SAFE_TARGET) if query else ""
        )
        host = netloc.rpartition("@")[2]
        given = {name.lower(): name for name in headers}
        lines = [f"POST {target} HTTP/1.1"]
        if "host" not in given:
            lines.append(f"Host: {_ascii_host(host)}")
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self._user_agent}")
        for name, value in headers.items():
            if any(c in name or c in value for c in "\r\n\0") or not name or ":" in name:
                raise OSError("a header cannot hold a line break")
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body

    async def _connection(self, origin: Origin) -> tuple[_Conn, bool]:
        """A kept connection to ``origin`` when one is still open (and was not idle too long),
        else a new one; and whether it was kept."""
        kept = self._idle.get(origin)
        now = time.monotonic()
        while kept:
            conn = kept.pop()
            if conn.usable() and now - conn.idle_since < IDLE_S:
                return conn, True
            conn.close()
        return await self._open(origin), False

    async def _open(self, origin: Origin) -> _Conn:
        scheme, host, port, sni = origin
        tls = self._tls_context() if scheme == "https" else None
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=sni if tls is not None else None, limit=READ_CHUNK
            )
        except ssl.SSLError as exc:
            raise OSError(f"TLS: {exc.reason or type(exc).__name__}") from None
        return _Conn(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def _exchange(self, conn: _Conn, request: bytes, keep: int) -> tuple[_Answer, int, bool]:
        """Write the request, read the answer: (it, its status, whether the connection can be used
        again)."""
        answer = _Answer(keep=keep)
        parser = answer.parser = httptools.HttpResponseParser(answer)
        try:
            conn.writer.write(request)
            await conn.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise _NoAnswer(type(exc).__name__) from None
        got = 0
        while not answer.done:
            try:
                data = await conn.reader.read(READ_CHUNK)
            except ConnectionError as exc:
                if got == 0:
                    raise _NoAnswer(type(exc).__name__) from None
                raise OSError(type(exc).__name__) from None
            except ssl.SSLError as exc:
                raise OSError(f"TLS: {exc.reason or type(exc).__name__}") from None
            if not data:
                if got == 0:
                    raise _NoAnswer("the connection was closed")
                with contextlib.suppress(httptools.HttpParserError):
                    parser.feed_data(b"")  # an answer that ends with the connection
                if answer.headers_done:
                    break
                raise OSError("the connection was closed mid-answer")
            got += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                raise OSError("an upgrade was answered") from None
            except httptools.HttpParserError:
                raise OSError("an answer that is not HTTP/1.1") from None
            if not answer.headers_done and got > MAX_HEAD_BYTES:
                raise OSError("the answer's head is too long")
            if answer.headers_done and not answer.done and answer.body_bytes > MAX_DRAIN_BYTES:
                break  # too long to read to its end: the connection is closed
        answer.parser = None
        reusable = answer.done and answer.keep_alive and conn.usable()
        return answer, answer.status, reusable

    def _keep(self, origin: Origin, conn: _Conn) -> None:
        """Keep ``conn`` idle; the idle ones the peer closed or that waited ``IDLE_S`` are closed
        (whatever their origin: a webhook moved elsewhere leaves none open), and past
        ``max_connections`` the longest idle goes."""
        now = time.monotonic()
        for key, kept in list(self._idle.items()):
            fresh = [c for c in kept if c.usable() and now - c.idle_since < IDLE_S]
            for stale in kept:
                if stale not in fresh:
                    stale.close()
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
        if sum(len(v) for v in self._idle.values()) >= self._max_idle:
            oldest = min(self._idle.values(), key=lambda v: v[0].idle_since)
            oldest.pop(0).close()
            self._idle = {k: v for k, v in self._idle.items() if v}
        self._idle.setdefault(origin, []).append(conn)

    async def aclose(self) -> None:
        conns = [c for kept in self._idle.values() for c in kept]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.writer.wait_closed(), 1.0)


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return name.encode("idna").decode("ascii") + colon + port
