"""A bare protocol client for gateway tests: REST with httpx, WebSocket with `websockets`, no crypto.

The envelopes it sends are opaque bytes to the server, which is exactly the point of these tests:
they check what the server does with frames, not what the SDK does with content.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.unit.service.fakes import TestDevice

PASSWORD = "correct horse battery"


@dataclass
class Wire:
    """One device of one person, speaking the wire protocol by hand."""

    base_url: str
    ws_url: str
    account: str
    device_id: str
    token: str
    keys: TestDevice
    ws: ClientConnection | None = None
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def connect(self, *, expect_welcome: bool = True) -> dict[str, Any]:
        self.ws = await connect(self.ws_url, max_size=2**22)
        await self.ws.send(json.dumps({"t": "hello", "token": self.token}))
        first = json.loads(await self.ws.recv())
        if expect_welcome:
            assert first["t"] == "welcome", first
        self.reader = asyncio.create_task(self._read())
        return dict(first)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                await self.frames.put(json.loads(raw))
        except Exception:  # the connection ended; tests look at close codes separately
            return

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(frame))

    async def next(self, kind: str | None = None, *, within: float = 5.0) -> dict[str, Any]:
        """The next frame (of a type), skipping others of no interest to the test."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.frames.get()
                if kind is None or frame["t"] == kind:
                    return frame

    async def items(
        self, count: int, *, kind: str | None = None, within: float = 5.0
    ) -> list[dict[str, Any]]:
        """The next ``count`` mailbox items (of one kind, when given)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            frame = await self.next("deliver", within=within)
            got.extend(i for i in frame["items"] if kind is None or i["kind"] == kind)
        return got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader
        self.ws = None


def envelope(tag: str) -> dict[str, Any]:
    return {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": "k",
        "ciphertext": {"x": {"type": 1, "body": tag}},
    }


def asgi_ws_url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).rstrip("/").replace("http://", "ws://") + "/v1/ws"


async def register_photo(http: httpx.AsyncClient, handle: str, ws_url: str | None = None) -> Wire:
    keys = TestDevice(f"{handle}'s phone")
    body = {"app": "photo", "handle": handle, "password": PASSWORD, "device": keys.keys_json()}
    response = await http.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    base = str(http.base_url).rstrip("/")
    return Wire(base, ws_url or asgi_ws_url(http), data["account_id"], data["device_id"], data["token"], keys)


async def add_photo_device(
    http: httpx.AsyncClient, handle: str, name: str, ws_url: str | None = None
) -> Wire:
    keys = TestDevice(name)
    body = {"app": "photo", "handle": handle, "password": PASSWORD, "device": keys.keys_json()}
    response = await http.post("/v1/devices", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    base = str(http.base_url).rstrip("/")
    return Wire(base, ws_url or asgi_ws_url(http), data["account_id"], data["device_id"], data["token"], keys)
