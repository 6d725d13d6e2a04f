"""CORS for browser clients served from other origins (docs/protocol.md section 13).

A plain ASGI middleware. The allowed origins are every app's ``allowed_origins`` together: a page
names no app before it has an account, and a token (never a cookie) is what authorises a request, so
an origin only decides whether a browser lets its page read the answers.

Rules
1. A request without an ``Origin`` header, or from an origin not allowed, passes through untouched
   (its answer carries no CORS header, so the browser withholds it from the page); a preflight from
   such an origin is answered ``403 forbidden``.
2. A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin is answered
   here, ``204``, and never reaches a route.
3. Any other request from an allowed origin gets ``Access-Control-Allow-Origin`` (the origin itself,
   with ``Vary: Origin``) and the headers a client reads exposed (``Retry-After``, ``WWW-Authenticate``).
4. Nothing is allowed with credentials (cookies): the API has none.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passerelle.domain.errors import Forbidden
from passerelle.server.errors import error_response

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After, WWW-Authenticate"
MAX_AGE_S = 600


class Cors:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.any = "*" in self.origins

    def allows(self, origin: str) -> bool:
        return self.any or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        if preflight:
            await self._preflight(origin, scope, receive, send)
            return
        if not self.allows(origin):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.allows(origin):
            refused = error_response(Forbidden("this origin may not call the API"))
            refused.headers["Vary"] = "Origin"
            await refused(scope, receive, send)
            return
        answer = Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_S),
                "Vary": "Origin",
            },
        )
        await answer(scope, receive, send)
