"""A pure ASGI middleware that refuses HTTP request bodies over a size limit with 413 ``too_large``.

A declared Content-Length over the limit is refused before reading anything. Otherwise the body is
read (counting the bytes of every chunk, so chunked uploads are held to the same limit) and handed
to the app in one piece; the app never sees a body over the limit. WebSocket and lifespan traffic
pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passerelle.domain.errors import TooLarge
from passerelle.server.errors import error_response


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        exempt_prefixes: tuple[str, ...] = (),
        refusal: Callable[[str], ASGIApp] | None = None,
        exempt_paths: re.Pattern[str] | None = None,
    ) -> None:
        """``refusal`` makes the 413 answer from its message, in the envelope of the API behind
        (the people's API's ``too_large`` error by default). ``exempt_prefixes`` / ``exempt_paths``:
        routes that bound their bodies themselves (uploads)."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = exempt_prefixes
        self.refusal = refusal or _too_large
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or path.startswith(self.exempt_prefixes)
            or (self.exempt_paths is not None and self.exempt_paths.match(path) is not None)
        ):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its whole body: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.refusal(f"a request body is limited to {self.max_bytes} bytes")(scope, receive, send)


def _too_large(message: str) -> ASGIApp:
    return error_response(TooLarge(message))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
