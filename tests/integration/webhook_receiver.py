"""A bot's webhook endpoint for the tests: a real HTTP server (Starlette on uvicorn, on a free port
of 127.0.0.1) that answers Meta's verification handshake and checks ``X-Hub-Signature-256`` on every
``POST`` as pywa does. Tests script its answers (fail N times, hang, go down and come back) and wait
on what it received, never on time."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Post:
    body: bytes
    signature: str
    status: int


@dataclass
class Receiver:
    verify_token: str = "vt-0123456789"
    app_secret: str = ""
    fail_next: int = 0
    """Answer this many POSTs with 500 before answering 200."""
    always_fail: bool = False
    fail_once: set[bytes] = field(default_factory=set)
    """Bodies answered 500 the first time they come."""
    hang: bool = False
    """Hold every POST without answering (until released)."""
    posts: list[Post] = field(default_factory=list)
    challenges: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    @property
    def accepted(self) -> list[bytes]:
        return [p.body for p in self.posts if p.status == 200]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/webhook", self._verify, methods=["GET"]),
                Route("/webhook", self._post, methods=["POST"]),
            ]
        )

    async def _verify(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.challenges.append(params)
        if params.get("hub.verify_token") != self.verify_token:
            return PlainTextResponse("Forbidden", status_code=403)
        return PlainTextResponse(params.get("hub.challenge", ""))

    async def _post(self, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if not given:
            status = 401
        elif not hmac.compare_digest(given, expected):
            status = 403
        elif self.hang:
            await self._release.wait()
            status = 200
        elif body in self.fail_once:
            self.fail_once.discard(body)
            status = 500
        elif self.always_fail or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            status = 500
        else:
            status = 200
        async with self._changed:
            self.posts.append(Post(body=body, signature=given, status=status))
            self._changed.notify_all()
        return PlainTextResponse("OK" if status == 200 else "no", status_code=status)

    async def start(self) -> None:
        """Listen (again, on the same port when it was started before)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        # The socket listens already: connections made before uvicorn runs wait in its backlog.
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
        self._release = asyncio.Event()

    async def wait_until(self, condition: Callable[[Receiver], bool], *, within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: condition(self))
