"""The gateway on the ASGI WebSocket (uvicorn), on the same port as the REST API."""

from __future__ import annotations

import contextlib
from typing import Any

from passerelle.server.ws.gateway import Gateway
from passerelle.service.limiter import client_key_of


class AsgiTransport:
    __slots__ = ("_send",)

    def __init__(self, send: Any) -> None:
        self._send = send

    @property
    def direct(self) -> bool:
        return False

    def write_now(self, data: bytes) -> None:
        raise RuntimeError("ASGI sends are awaited: queue the frame for the pump")

    def write_many(self, frames: list[bytes]) -> None:
        raise RuntimeError("ASGI sends are awaited: queue the frames for the pump")

    def buffered(self) -> int:
        return 0

    def is_closed(self) -> bool:
        return False

    async def send_text(self, data: bytes) -> None:
        # Every frame is UTF-8 by construction (the edge checks what it stores, the hub what it reads
        # back); should one not be, a replacement character must not cost the connection its pump.
        await self._send({"type": "websocket.send", "text": data.decode(errors="replace")})

    async def close(self, code: int, reason: str = "") -> None:
        with contextlib.suppress(OSError, RuntimeError):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def close_now(self, code: int, reason: str = "") -> None:
        raise RuntimeError("ASGI closes are awaited: the pump closes")


class AsgiFrames:
    __slots__ = ("_receive",)

    def __init__(self, receive: Any) -> None:
        self._receive = receive

    async def next(self) -> bytes | str | None:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")


class AsgiGateway:
    """The ASGI endpoint for ``/v1/ws``."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        peer = scope.get("client")
        conn = self._gateway.connection(AsgiTransport(send), client_key_of(peer[0] if peer else None))
        await self._gateway.serve(conn, AsgiFrames(receive))
