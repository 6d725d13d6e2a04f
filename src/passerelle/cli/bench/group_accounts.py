"""Accounts for scenario (d), registered fast through the real REST API: a few on the handle app
(passwords: Argon2 makes each cost tens of milliseconds) and the rest on two phone apps, whose
one-time codes the server posts to ``CodeGateway``, the bench's stand-in for an SMS gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.identity import JSON, BenchAccount, create_account, new_device, register_all
from passerelle.proto.rest import accounts as wire
from passerelle.proto.rest.base import encode

PHONE_APPS = ("chat", "social")
PASSWORD_MEMBERS = 10
PHONE_CONCURRENCY = 16


class CodeGateway:
    """A minimal HTTP endpoint on 127.0.0.1 that keeps the codes the server posts to it."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self._waiters: dict[str, asyncio.Future[str]] = {}
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                phone, code = body["phone"], body["code"]
                self.codes[phone] = code
                waiter = self._waiters.pop(phone, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(code)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, KeyError):
            pass
        finally:
            writer.close()

    def expect(self, phone: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters[phone] = future
        return future

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CodeGateway]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/codes"
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()

    def config(self) -> str:
        """Appended to the bench configuration (inside its [limits] table, then a [server] table)."""
        return f'codes_per_client_per_hour = 1000000\ncodes_per_phone = 1000\n\n[server]\ncode_sender = "{self.url}"\n'


KEPT_ALIVE = httpx.Limits(keepalive_expiry=2.0)
"""A connection idle this long is not reused: the server closes one idle for 5 s (uvicorn's keep-alive
timeout), and a request sent as it does fails with ReadError (seen at load average 16)."""


def phone_number(n: int) -> str:
    return f"+336{n:08d}"


async def register_phone(http: httpx.AsyncClient, gateway: CodeGateway, *, app: str, n: int) -> BenchAccount:
    phone = phone_number(n)
    waiter = gateway.expect(phone)
    asked = await http.post("/v1/codes", content=encode(wire.CodeRequest(app=app, phone=phone)), headers=JSON)
    if asked.status_code != 202:
        raise BenchError(f"asking a code for {phone} failed: HTTP {asked.status_code} {asked.text[:200]}")
    async with asyncio.timeout(10.0):
        code = await waiter
    device, signing = new_device(f"{app} {n} bench")
    body = wire.Register(app=app, phone=phone, code=code, display_name=f"Member {n}", device=device)
    return await create_account(http, body, who=phone, signing=signing)


async def register_phones(
    url: str, gateway: CodeGateway, count: int, *, apps: tuple[str, ...] = PHONE_APPS, first: int = 0
) -> list[BenchAccount]:
    """``count`` accounts on the phone apps (in turn), numbered from ``first``, a few at a time."""
    gate = asyncio.Semaphore(PHONE_CONCURRENCY)

    async def one(http: httpx.AsyncClient, n: int) -> BenchAccount:
        async with gate:
            return await register_phone(http, gateway, app=apps[n % len(apps)], n=n)

    try:
        async with (
            httpx.AsyncClient(base_url=url, timeout=30.0, limits=KEPT_ALIVE) as http,
            asyncio.TaskGroup() as group,
        ):
            tasks = [group.create_task(one(http, n)) for n in range(first, first + count)]
    except* BenchError as errors:
        raise errors.exceptions[0] from None
    return [t.result() for t in tasks]


async def register_members(
    url: str, gateway: CodeGateway, members: int
) -> tuple[BenchAccount, list[BenchAccount]]:
    """The sender (photo) and ``members`` members: a few on photo, the others on the phone apps."""
    on_photo = min(PASSWORD_MEMBERS, members)
    handles = ["bench_gsender"] + [f"bench_g{n:04d}" for n in range(on_photo)]
    sender, *found = await register_all(url, app="photo", handles=handles)
    return sender, found + await register_phones(url, gateway, members - on_photo, first=on_photo)
