"""The REST edge as the real ASGI app (``server.app.asgi_app`` over the graph of the composition
root, on the in-memory store of ``tests.unit.service.world``), called in process through httpx's
ASGI transport. Nothing runs in the background (the lifespan is not run): the send pipeline is built
but never started, so sends belong to the tests of the real server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from passerelle.domain.addresses import normalize_phone
from passerelle.domain.limits import Limits
from passerelle.server.app import asgi_app
from passerelle.service.ports import Store
from tests.unit.service.fakes import FakeClock, KeysLow, Notices, Phone, TestDevice
from tests.unit.service.world import open_world

PASSWORD = "correct horse battery"
GENEROUS = Limits(logins_per_window=1000, codes_per_phone=100, codes_per_client_per_hour=1000)


@dataclass
class Person:
    account_id: str
    device_id: str
    token: str
    address: str
    device: TestDevice

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    http: httpx.AsyncClient
    store: Store
    clock: FakeClock
    phone: Phone
    notices: Notices
    keys_low: KeysLow
    limits: Limits
    transport: httpx.ASGITransport = field(repr=False)

    def client_at(self, address: str) -> httpx.AsyncClient:
        """Another client, seen by the server as coming from ``address`` (for per-client limits)."""
        transport = httpx.ASGITransport(app=self.transport.app, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://passerelle.test")

    async def register(self, body: dict[str, Any], device: TestDevice) -> Person:
        response = await self.http.post("/v1/accounts", json={**body, "device": device.keys_json()})
        assert response.status_code == 201, response.text
        data = response.json()
        return Person(data["account_id"], data["device_id"], data["token"], data["address"], device)

    async def chat(self, phone: str, name: str = "Bob") -> Person:
        response = await self.http.post("/v1/codes", json={"app": "chat", "phone": phone})
        assert response.status_code == 202, response.text
        code = self.phone.code("chat", normalize_phone(phone))
        body = {"app": "chat", "phone": phone, "code": code, "display_name": name}
        return await self.register(body, TestDevice(f"{name}'s phone"))

    async def photo(self, handle: str) -> Person:
        return await self.register({"app": "photo", "handle": handle, "password": PASSWORD}, TestDevice())

    async def social(self, username: str, name: str = "Marie Dupont") -> Person:
        body = {"app": "social", "username": username, "password": PASSWORD, "display_name": name}
        return await self.register(body, TestDevice())

    async def set_findability(self, person: Person, findability: str) -> None:
        response = await self.http.patch(
            "/v1/me/settings", json={"findability": findability}, headers=person.auth
        )
        assert response.status_code == 200, response.text

    async def open_direct(self, person: Person, other: Person) -> str:
        """``POST /v1/conversations {"with": other}``; returns the conversation id."""
        response = await self.http.post(
            "/v1/conversations", json={"with": other.account_id}, headers=person.auth
        )
        assert response.status_code == 200, response.text
        conv: str = response.json()["conv"]
        return conv


@contextlib.asynccontextmanager
async def rest_api(tmp_path: Path, limits: Limits = GENEROUS) -> AsyncIterator[Api]:
    async with open_world(tmp_path, limits) as w:
        transport = httpx.ASGITransport(app=asgi_app(w.wired))
        async with httpx.AsyncClient(transport=transport, base_url="http://passerelle.test") as http:
            yield Api(http, w.store, w.clock, w.phone, w.notices, w.keys_low, limits, transport)
