"""Running the app under uvicorn: from the command line, and in-process for tests, demo and bench."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from passerelle.config import Settings
from passerelle.server.app import create_app
from passerelle.server.uvicorn_protocols import HttpProtocol, WebSocketProtocol
from passerelle.server.wiring import Wired
from passerelle.service.ports import Clock, CodeSender


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
    )


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
