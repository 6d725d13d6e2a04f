"""Fixtures for the Store contract suite: every test runs on the in-memory store (one
``MemoryDatabase`` shared by the stores a test makes), on SQLite (a temporary file) and, when
PASSERELLE_TEST_POSTGRES_URL is set, on PostgreSQL in a schema of its own, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from passerelle.domain.ids import (
    AccountId,
    AppName,
    ClientMessageId,
    ConversationId,
    DeviceId,
    Timestamp,
)
from passerelle.service.ports import Store
from passerelle.service.records import AccountRecord, DeviceRecord, OutgoingMessage
from passerelle.storage import MemoryDatabase, MemoryStore, PostgresStore, SqliteStore

POSTGRES_URL = os.environ.get("PASSERELLE_TEST_POSTGRES_URL", "")
START = 1_700_000_000_000
"""The contract clock's start, in ms."""
DAY_MS = 86_400_000


class ManualClock:
    """The store's idea of "now" (what has expired), moved by the test."""

    def __init__(self, now_ms: int = START) -> None:
        self.now = now_ms

    def now_ms(self) -> Timestamp:
        return Timestamp(self.now)

    def monotonic(self) -> float:
        return self.now / 1000


@dataclass
class Backend:
    """A database for one test: ``make()`` builds a new, unopened store on it."""

    kind: str
    make: Callable[[], Store]
    clock: ManualClock


@contextlib.asynccontextmanager
async def postgres_backend(clock: ManualClock) -> AsyncIterator[Backend]:
    """A fresh schema in the shared test database, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PASSERELLE_TEST_POSTGRES_URL is not set")
    schema = f"passerelle_contract_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield Backend(
            kind="postgres",
            make=lambda: PostgresStore(POSTGRES_URL, search_path=schema, clock=clock),
            clock=clock,
        )
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = ManualClock()
    if request.param == "memory":
        database = MemoryDatabase()  # outlives the stores made on it, like a file
        yield Backend(kind="memory", make=lambda: MemoryStore(database, clock=clock), clock=clock)
        return
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        yield Backend(kind="sqlite", make=lambda: SqliteStore(path, clock=clock), clock=clock)
        return
    async with postgres_backend(clock) as found:
        yield found


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.make()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


# -- builders ----------------------------------------------------------------------------------


def account_record(alias: str, *, app: str = "chat") -> AccountRecord:
    return AccountRecord(
        id=AccountId(f"acc_{secrets.token_hex(6)}"),
        app=AppName(app),
        alias=alias,
        display_name=alias.title(),
        password_hash="argon2-hash",
        findability=None,
        read_receipts=True,
        created_at=Timestamp(START),
    )


def device_record(account: AccountId, *, name: str = "phone", created_at: int = START) -> DeviceRecord:
    return DeviceRecord(
        id=DeviceId(f"dev_{secrets.token_hex(6)}"),
        account=account,
        name=name,
        curve25519=f"curve-{secrets.token_hex(4)}",
        ed25519=f"ed-{secrets.token_hex(4)}",
        signature="sig",
        created_at=Timestamp(created_at),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    account: AccountRecord
    device: DeviceRecord
    token_hash: str


async def new_person(store: Store, alias: str | None = None, *, app: str = "chat") -> Person:
    account = account_record(alias or f"user{secrets.token_hex(4)}", app=app)
    device = device_record(account.id)
    token_hash = secrets.token_hex(16)
    await store.create_account(
        account, device, token_hash=token_hash, token_expires=Timestamp(START + DAY_MS)
    )
    return Person(account=account, device=device, token_hash=token_hash)


def message(
    sender: Person,
    targets: list[DeviceId],
    *,
    client_id: str | None = None,
    kind: str = "msg",
    ts: int = START,
    expires_at: int = START + DAY_MS,
    body: bytes | None = None,
    conv: str = "d_conversation",
) -> OutgoingMessage:
    """A message from ``sender`` with a distinct body per target (``body`` overrides them)."""
    return OutgoingMessage(
        kind=kind,
        conv=ConversationId(conv),
        sender=sender.account.id,
        sender_device=sender.device.id,
        client_id=None if client_id is None else ClientMessageId(client_id),
        ts=Timestamp(ts),
        expires_at=Timestamp(expires_at),
        payloads=tuple((t, body if body is not None else f"to {t} at {ts}".encode()) for t in targets),
    )
