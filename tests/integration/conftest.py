"""Fixtures of the integration tests that drive the real server over HTTP and its WebSockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ServerHandle


@pytest.fixture
async def http(server: ServerHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


@pytest.fixture(params=["asgi", "picows"])
def ws_url(request: pytest.FixtureRequest, server: ServerHandle) -> str:
    """A test that asks for it runs on both WebSocket layers: uvicorn's (ASGI) and the fast one (picows)."""
    if request.param == "asgi":
        return server.running.ws_url
    assert server.running.fast_ws_url is not None
    return server.running.fast_ws_url
