"""uvicorn's own protocols with the deadlines a server facing strangers needs.

- ``HttpProtocol`` (uvicorn's httptools protocol, llhttp in C: h11's pure-Python parsing was ~20 %
  of the event loop per REST request, benchmarks/README.md scenario f): a request's head (request line and headers) must arrive within
  ``HEAD_TIMEOUT_S`` of its first byte, or of the connection opening, and its body at no less than
  ``MIN_BODY_BYTES_PER_S`` over each ``BODY_WINDOW_S``. uvicorn times out only the idle time
  between requests, so a socket that never sends a request, or sends half of one, or drips a body,
  would otherwise stay open for good, before any WebSocket limit or REST handler can see it. A head
  is also held to ``MAX_HEAD_BYTES`` (h11's bound, which llhttp does not have): a longer one is
  answered 431 and the connection closed.
- ``WebSocketProtocol``: after the server closes a WebSocket, it waits at most ``CLOSE_HANDSHAKE_S``
  (uvicorn: 10 s) for the peer's close reply before dropping the socket.

The picows gateway has the same bounds from picows itself (``websocket_handshake_timeout``, and a
close that does not wait for the peer).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HEAD_TIMEOUT_S = 5.0
BODY_WINDOW_S = 10.0
MIN_BODY_BYTES_PER_S = 1024
"""While a request's body is on its way, each BODY_WINDOW_S must bring this many bytes a second
(unless the server itself paused reading): a body dripped a byte at a time is dropped."""
CLOSE_HANDSHAKE_S = 2.0
MAX_HEAD_BYTES = 16 * 1024
"""A request line and headers together (h11's default ``max_incomplete_event_size``)."""

_Phase = Literal["idle", "head", "body", "done"]
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\nthe request head is too large.\n"
)


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._watching: str | None = None
        """"head" while a request's head is awaited, "body" while its body is, else None."""
        self._window_bytes = 0
        self._phase: _Phase = "idle"
        """Where the peer is in its current request, from the parser's callbacks: "idle" before its
        first byte, "head" until its headers are complete, "body" until the whole request is in,
        "done" from then on (until the next request's first byte)."""
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = "body"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "done"

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._stop()  # closed, or upgraded to a WebSocket: the gateway's deadlines take over
            return
        phase = self._phase
        if phase == "head":
            # A head is on its way: its deadline runs from its first byte, its size is bounded.
            self._head_bytes += len(data)  # a head still incomplete after MAX_HEAD_BYTES is refused
            if self._head_bytes > MAX_HEAD_BYTES:
                self._stop()
                self.transport.write(_TOO_LARGE)
                self.transport.close()
                return
            self._watch_head()
        elif phase == "body":
            if self._watching != "body":
                self._stop()
                self._watching = "body"
                self._window_bytes = 0
                self._timer = self.loop.call_later(BODY_WINDOW_S, self._check_body)
            self._window_bytes += len(data)
        else:
            self._stop()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        if self._watching != "head":
            self._stop()
            self._watching = "head"
            self._timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_too_slow)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._watching = None

    def _head_too_slow(self) -> None:
        self._timer = None
        self._watching = None
        if not self.transport.is_closing() and self._phase in ("idle", "head"):
            self.transport.close()

    def _check_body(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase != "body":
            self._watching = None
            return
        if not self.flow.read_paused and self._window_bytes < MIN_BODY_BYTES_PER_S * BODY_WINDOW_S:
            self._watching = None
            self.transport.close()
            return
        self._window_bytes = 0
        self._timer = self.loop.call_later(BODY_WINDOW_S, self._check_body)


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_HANDSHAKE_S
