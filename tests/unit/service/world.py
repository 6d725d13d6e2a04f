"""The services wired on the in-memory store (the same contract as SQLite and PostgreSQL, see
tests/contract), with helpers that play people signing up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from passerelle.broker import open_broker
from passerelle.config import Settings, load_settings
from passerelle.domain.addresses import normalize_phone
from passerelle.domain.limits import Limits
from passerelle.server.system import RandomIds
from passerelle.server.webhook_http import HttpxWebhooks
from passerelle.server.wiring import Adapters, Wired, build
from passerelle.service.accounts.accounts import AccountService, DeviceSession, PasswordProof, PhoneProof
from passerelle.service.accounts.keys import KeyService
from passerelle.service.directory.directory import Directory
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.ports import Store
from passerelle.service.records import AccountRecord, TokenRecord
from passerelle.storage import MemoryStore
from passerelle.storage.blobs.files import LocalBlobStore
from passerelle.storage.leases import SoleNode
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.server_secret import KEY_FILE, FileServerSecret
from tests.unit.service.fakes import FakeClock, KeysLow, Notices, Phone, TestDevice

CLIENT = ClientKey("192.0.2.1")
PASSWORD = "correct horse battery"


@dataclass
class Person:
    session: DeviceSession
    device: TestDevice

    @property
    def token(self) -> TokenRecord:
        return TokenRecord(
            device=self.session.device, account=self.session.account, expires_at=self.session.expires_at
        )


@dataclass
class World:
    store: Store
    clock: FakeClock
    phone: Phone
    notices: Notices
    keys_low: KeysLow
    limits: Limits
    settings: Settings
    limiter: RateLimiter
    accounts: AccountService
    directory: Directory
    keys: KeyService
    wired: Wired

    async def chat(self, phone: str, name: str = "Bob") -> Person:
        device = TestDevice(f"{name}'s phone")
        await self.accounts.request_code(app="chat", phone=phone, client=CLIENT)
        session = await self.accounts.register(
            app="chat",
            proof=PhoneProof(phone=phone, code=self.phone.code("chat", normalize_phone(phone))),
            display_name=name,
            device=device.new_device(),
            client=CLIENT,
        )
        return Person(session, device)

    async def photo(self, handle: str, display_name: str | None = None) -> Person:
        return await self.with_password("photo", handle, display_name=display_name)

    async def social(self, username: str, name: str = "Marie Dupont") -> Person:
        return await self.with_password("social", username, display_name=name)

    async def with_password(
        self, app: str, alias: str, *, display_name: str | None, password: str = PASSWORD
    ) -> Person:
        """Someone registers on a password app (``photo`` by handle, ``social`` by username)."""
        device = TestDevice()
        session = await self.accounts.register(
            app=app,
            proof=PasswordProof(alias=alias, password=password),
            display_name=display_name,
            device=device.new_device(),
            client=CLIENT,
        )
        return Person(session, device)

    async def record(self, person: Person) -> AccountRecord:
        account = await self.store.get_account(person.session.account)
        assert account is not None
        return account


def memory_adapters(tmp_path: Path, clock: FakeClock, phone: Phone) -> Adapters:
    """Adapters for the unit tests: the in-memory store and rate limits, this process's broker, the
    fake clock and phone; the server key file and blobs in ``tmp_path``."""
    return Adapters(
        store=MemoryStore(clock=clock),
        broker=open_broker(""),
        rate_limits=MemoryRateLimits(clock),
        secret=FileServerSecret(tmp_path / KEY_FILE),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        clock=clock,
        ids=RandomIds(),
        codes=phone,
        webhooks=HttpxWebhooks(max_connections=1),
        janitor_lease=SoleNode(),
        quality_lease=SoleNode(),
    )


@contextlib.asynccontextmanager
async def open_world(tmp_path: Path, limits: Limits) -> AsyncIterator[World]:
    """The services as the composition root builds them (``server.wiring.build``) on a
    ``MemoryStore``, a fake clock and a recording phone; device notices and low-key warnings are
    recorded instead of told to devices; the server key file and blobs are in ``tmp_path``."""
    settings = replace(load_settings(None, data_dir=tmp_path), limits=limits)
    clock = FakeClock()
    phone, notices, keys_low = Phone(), Notices(), KeysLow()
    adapters = memory_adapters(tmp_path, clock, phone)
    wired = build(settings, adapters, notices=notices, keys_low=keys_low)
    async with wired.opened():
        yield World(
            wired.store,
            clock,
            phone,
            notices,
            keys_low,
            limits,
            settings,
            wired.limiter,
            wired.accounts,
            wired.directory,
            wired.keys,
            wired,
        )
