"""uvicorn's own protocols with the deadlines a server facing strangers needs.

- ``HttpProtocol``: a request's head (request line and headers) must arrive within
  ``HEAD_TIMEOUT_S`` of its first byte, or of the connection opening. uvicorn times out only the
  idle time between requests, so a socket that never sends a request, or sends half of one, would
  otherwise stay open for good, before any WebSocket limit can see it.
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
CLOSE_HANDSHAKE_S = 2.0


class HttpProtocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed, or upgraded to a WebSocket: the gateway's deadlines take over
        elif self.conn.their_state is h11.IDLE:
            self._arm()  # a head is on its way (or not even started): its deadline runs
        else:
            self._disarm()  # the head arrived

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_HANDSHAKE_S
