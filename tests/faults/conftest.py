"""Fixtures of the fault tests: PostgreSQL and Redis servers of their own (tests/faults/services.py),
which a test may crash and restart; skipped, saying why, where Debian's binaries are missing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.terminals import Terminals
from tests.faults.services import OwnPostgres, OwnRedis, missing_binaries, template_cluster


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[Path]:
    """One ``initdb`` per run; each test's server starts from a copy of it (a copy takes
    milliseconds, an ``initdb`` seconds)."""
    why = missing_binaries()
    if why is not None:
        pytest.skip(why)
    with template_cluster() as home:
        yield home


@pytest_asyncio.fixture
async def own_postgres(postgres_template: Path) -> AsyncIterator[OwnPostgres]:
    server = OwnPostgres.copy_of(postgres_template)
    try:
        await server.start()
        yield server
    finally:
        await server.remove()


@pytest_asyncio.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    why = missing_binaries()
    if why is not None:
        pytest.skip(why)
    server = OwnRedis.fresh()
    try:
        await server.start()
        yield server
    finally:
        await server.remove()


@pytest_asyncio.fixture
async def no_server(tmp_path: Path) -> AsyncIterator[Terminals]:
    """``passerelle serve`` as a child process, started (and killed, restarted) by the test."""
    terminals = Terminals(tmp_path)
    terminals.env["PASSERELLE_SHUTDOWN_GRACE_S"] = "0"  # the test's end needs no load balancer's grace
    try:
        yield terminals
    finally:
        await terminals.stop_all()
