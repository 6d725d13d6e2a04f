"""Running the app under uvicorn: from the command line, and in-process for tests, demo and bench."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from passerelle.config import Settings
from passerelle.domain.proxies import TrustedProxies
from passerelle.server.app import create_app
from passerelle.server.startup import announce, client_url
from passerelle.server.uvicorn_protocols import HttpProtocol, WebSocketProtocol
from passerelle.server.wiring import Wired
from passerelle.service.ports import Clock, CodeSender

log = logging.getLogger("passerelle.server")


def tune_gc() -> None:
    """For a long-running server: move what start-up built out of the collector's way and collect
    the young generation less often (the message path allocates many short-lived objects; the
    default threshold of 700 runs a collection every few messages under load)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def uvicorn_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=HttpProtocol,
        ws=WebSocketProtocol,
        ws_max_size=settings.limits.max_frame_bytes + 4096,
        ws_ping_interval=30.0,
        ws_ping_timeout=30.0,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        proxy_headers=True,
        forwarded_allow_ips=list(TrustedProxies(settings.trusted_proxies).entries),
    )


class GracefulServer(uvicorn.Server):
    """uvicorn for ``passerelle serve``, with the graceful shutdown of docs/operations.md.

    The first SIGTERM or SIGINT turns ``/readyz`` to 503 and nothing else; ``shutdown_grace_s``
    later the listening sockets close, then ``Wired.stop_serving`` finishes what was accepted and
    closes every WebSocket with 1012 (within ``shutdown_timeout_s``), then uvicorn's own shutdown
    (its connections get ``timeout_graceful_shutdown``) and the lifespan run. A second signal forces the exit. The process exits 0 (uvicorn
    would raise the captured signal again once it has stopped, which kills it with that signal).
    """

    def __init__(self, config: uvicorn.Config, services: Wired) -> None:
        super().__init__(config)
        self.services = services
        self._stop_at: float | None = None
        self._hosted: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._stop_at is None and sig in (signal.SIGTERM, signal.SIGINT):
            self.services.lifecycle.draining = True
            self._stop_at = time.monotonic() + self.services.settings.shutdown_grace_s
            return
        self.should_exit = True
        self.force_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            port = self.config.port
            if self.servers and self.servers[0].sockets:
                port = self.servers[0].sockets[0].getsockname()[1]  # the one it got, for --port 0
            # Said once bound, with the port it got (``--port 0``: any free one, chosen without a
            # race): the banner for a person, one log line for a supervisor or a test.
            settings = replace(self.services.settings, port=port)
            announce(settings)
            log.info("passerelle is listening", extra={"url": client_url(settings)})
            # Hosted business endpoints are clients of this server: now they can connect.
            host = self.config.host if self.config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
            self._hosted = asyncio.create_task(self._start_hosted(f"http://{host}:{port}"))

    async def _start_hosted(self, url: str) -> None:
        try:
            await self.services.hosted.start(url)
        except Exception:
            log.exception("hosted business endpoints could not start")

    async def on_tick(self, counter: int) -> bool:
        if self._stop_at is not None and not self.should_exit:
            if time.monotonic() >= self._stop_at:
                log.info("shutting down: no new connections")
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # accept nothing new (uvicorn closes them again: harmless)
        for sock in sockets or []:
            sock.close()
        bound = self.services.settings.shutdown_timeout_s
        if self.force_exit:
            bound = 0.0
        try:
            async with asyncio.timeout(bound):
                await self.services.stop_serving()
        except TimeoutError:
            log.error("finishing what was accepted took over %g s; closing anyway", bound)
        await super().shutdown(sockets)


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str
    ws_url: str
    fast_ws_url: str | None
    services: Wired
    server: uvicorn.Server


@asynccontextmanager
async def running_server(
    settings: Settings, *, clock: Clock | None = None, code_sender: CodeSender | None = None
) -> AsyncIterator[RunningServer]:
    """Start the real server on 127.0.0.1 and a free port; stop it on exit."""
    app = create_app(settings, clock=clock, code_sender=code_sender)
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    try:
        async with asyncio.timeout(15):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the server stopped while starting")
                await asyncio.sleep(0.005)
        services: Wired = app.state.services
        await services.hosted.start(f"http://127.0.0.1:{port}")
        yield RunningServer(
            url=f"http://127.0.0.1:{port}",
            ws_url=f"ws://127.0.0.1:{port}/v1/ws",
            fast_ws_url=(
                f"ws://127.0.0.1:{services.fast_gateway.port}/v1/ws"
                if services.fast_gateway is not None
                else None
            ),
            services=services,
            server=server,
        )
    finally:
        server.should_exit = True
        await task
        sock.close()
