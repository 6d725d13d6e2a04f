"""A hosted endpoint's REST calls to its own server, in process (``hosted.HostedEndpoints.use_app``).

``AppTransport`` is an ``httpx.ASGITransport`` over the server's ASGI app (media uploads and
downloads go through it as httpx requests), and it also takes the SDK's JSON calls directly
(``sdk.rest.DirectCalls``): the ASGI scope is built from the method, URL and headers, and the answer
is gathered from the app's messages, without httpx's request, response, URL, header and cookie
objects, which were most of an in-process call's cost (a campaign's person look-up, conversation and
key claim per send). The call is still the whole app: the access log, CORS, the body limit, the
routes, the caller's token and every check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from starlette.types import ASGIApp


class AppTransport(httpx.ASGITransport):
    def __init__(self, app: ASGIApp, *, client: tuple[str, int]) -> None:
        super().__init__(app=app, raise_app_exceptions=False, client=client)
        self._asgi = app
        self._peer = client

    async def direct(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        parts = urlsplit(url)
        host = parts.netloc.encode("ascii")
        raw = [(b"host", host)] + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        if content:
            raw.append((b"content-length", str(len(content)).encode("ascii")))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "headers": raw,
            "scheme": parts.scheme or "http",
            "path": unquote(parts.path),
            "raw_path": parts.path.encode("ascii"),
            "query_string": parts.query.encode("ascii"),
            "server": (parts.hostname, parts.port),
            "client": self._peer,
            "root_path": "",
        }
        sent_body = False
        status = 0
        answer_headers: list[tuple[bytes, bytes]] = []
        body: list[bytes] = []
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if sent_body:
                await complete.wait()
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk and method != "HEAD":
                    body.append(chunk)
                if not message.get("more_body", False):
                    complete.set()

        try:
            await self._asgi(scope, receive, send)
        except Exception:  # the app's error middleware answered 500 (or nothing was sent)
            if not status:
                status = 500
        complete.set()
        return status, answer_headers, b"".join(body)
