"""uvicorn's own protocols with the deadlines a server facing strangers needs.

- ``HttpProtocol``: a request's head (request line and headers) must arrive within
  ``HEAD_TIMEOUT_S`` of its first byte, or of the connection opening, and its body at no less than
  ``MIN_BODY_BYTES_PER_S`` over each ``BODY_WINDOW_S``. uvicorn times out only the idle time
  between requests, so a socket that never sends a request, or sends half of one, or drips a body,
  would otherwise stay open for good, before any WebSocket limit or REST handler can see it.
- ``WebSocketProtocol``: after the server closes a WebSocket, it waits at most ``CLOSE_HANDSHAKE_S``
  (uvicorn: 10 s) for the peer's close reply before dropping the socket.

The picows gateway has the same bounds from picows itself (``websocket_handshake_timeout``, and a
close that does not wait for the peer).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HEAD_TIMEOUT_S = 5.0
BODY_WINDOW_S = 10.0
MIN_BODY_BYTES_PER_S = 1024
"""While a request's body is on its way, each BODY_WINDOW_S must bring this many bytes a second
(unless the server itself paused reading): a body dripped a byte at a time is dropped."""
CLOSE_HANDSHAKE_S = 2.0


class HttpProtocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._watching: str | None = None
        """"head" while a request's head is awaited, "body" while its body is, else None."""
        self._window_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._stop()  # closed, or upgraded to a WebSocket: the gateway's deadlines take over
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            self._watch_head()  # a head is on its way: its deadline runs from its first byte
        elif state is h11.SEND_BODY:
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
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()

    def _check_body(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
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
