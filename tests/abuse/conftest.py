"""The standing abuse suite: fuzzers that play an attacker against the real server.

Hypothesis profiles: ``ci`` (the default) keeps the whole suite to about a minute; ``long`` is for a
fuzzing session by hand::

    PASSERELLE_FUZZ=long PASSERELLE_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/abuse -q --timeout=0
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.routing import Route

from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, make_settings
from tests.unit.service.fakes import TestDevice

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("PASSERELLE_FUZZ", "ci"))

PASSWORD = "a password the fuzzer never guesses: 7f3c9a"


@dataclass(frozen=True)
class LiveServer:
    """The real server (uvicorn on loopback, SQLite in ``data_dir``) running in a thread of its own,
    so that synchronous hypothesis tests can drive it over HTTP; ``token`` is a registered person's."""

    url: str
    data_dir: Path
    token: str
    account_id: str
    device_id: str
    routes: tuple[tuple[str, str], ...]  # (path template, method) of every HTTP route
    ws_urls: tuple[str, ...]  # the WebSocket on the main port (uvicorn) and the fast gateway (picows)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("abuse") / "data"
    data_dir.mkdir()
    ready = threading.Event()
    found: dict[str, str] = {}
    routes: list[tuple[str, str]] = []
    stop: list[asyncio.Event] = []
    loop_box: list[asyncio.AbstractEventLoop] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        loop_box.append(asyncio.get_running_loop())
        settings = make_settings(data_dir)
        # The fuzzers reconnect the same devices for every example, far faster than a person would:
        # only the reconnect limit is lifted; every other limit is the default.
        limits = replace(settings.limits, hellos_per_device_per_second=1000.0, hello_burst=1000)
        async with running_server(replace(settings, limits=limits), code_sender=CodeInbox()) as server:
            found["url"] = server.url
            found["ws"] = server.ws_url
            found["fast_ws"] = server.fast_ws_url or ""
            app = server.server.config.app
            assert isinstance(app, Starlette)
            routes.extend(
                (route.path, method)
                for route in app.routes
                if isinstance(route, Route)
                for method in sorted(route.methods or ())
                if method != "HEAD"
            )
            ready.set()
            await stop[0].wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test thread below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="abuse-server", daemon=True)
    thread.start()
    assert ready.wait(30), "the server did not start"
    if failure:
        raise failure[0]
    url = found["url"]
    device = TestDevice("fuzz target's phone")
    body = {"app": "photo", "handle": "fuzztarget", "password": PASSWORD, "device": device.keys_json()}
    response = httpx.post(f"{url}/v1/accounts", json=body, timeout=10)
    assert response.status_code == 201, response.text
    data = response.json()
    try:
        yield LiveServer(
            url,
            data_dir,
            data["token"],
            data["account_id"],
            data["device_id"],
            tuple(routes),
            (found["ws"], found["fast_ws"]),
        )
    finally:
        loop_box[0].call_soon_threadsafe(stop[0].set)
        thread.join(30)
        assert not thread.is_alive(), "the server did not stop"
        if failure:
            raise failure[0]
