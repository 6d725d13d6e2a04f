"""The service under test, on a real SQLite store in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from passerelle.config import Limits, load_settings
from passerelle.server.system import RandomIds
from passerelle.service.accounts import AccountService
from passerelle.service.directory import Directory
from passerelle.service.keys import KeyService
from passerelle.service.limiter import RateLimiter
from passerelle.storage import open_store
from tests.unit.service.fakes import FakeClock, KeysLow, Notices, Phone
from tests.unit.service.world import World


@pytest.fixture
def limits() -> Limits:
    """Tests override this fixture (or use ``replace``) to try a limit."""
    return Limits(logins_per_window=1000, codes_per_phone=100, codes_per_client_per_hour=1000)


@pytest_asyncio.fixture
async def world(tmp_path: Path, limits: Limits) -> AsyncIterator[World]:
    settings = load_settings(None, data_dir=tmp_path)
    settings = replace(settings, limits=limits)
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'passerelle.db'}", clock=clock)
    await store.open()
    phone, notices, keys_low = Phone(), Notices(), KeysLow()
    limiter = RateLimiter(clock)
    directory = Directory(store=store, apps=settings.apps, limiter=limiter, limits=limits)
    accounts = AccountService(
        store=store,
        apps=settings.apps,
        limits=limits,
        clock=clock,
        ids=RandomIds(),
        codes=phone,
        limiter=limiter,
        notices=notices,
    )
    keys = KeyService(
        store=store, limits=limits, clock=clock, limiter=limiter, directory=directory, on_keys_low=keys_low
    )
    try:
        yield World(
            store, clock, phone, notices, keys_low, limits, settings, limiter, accounts, directory, keys
        )
    finally:
        await store.close()
