"""Fixtures of the fault tests: PostgreSQL and Redis servers of their own (tests/faults/services.py),
which a test may crash and restart; skipped, saying why, where Debian's binaries are missing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.terminals import Terminals
from tests.faults.services import OwnPostgres, OwnRedis, missing_binaries, template_cluster

SMALL_DISK_MIB = 32


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


@pytest_asyncio.fixture
async def small_disk(tmp_path: Path) -> AsyncIterator[tuple[Terminals, Path]]:
    """``passerelle serve``'s data directory on a tmpfs of its own, 32 MiB (mounting needs root and
    CAP_SYS_ADMIN: skipped, saying why, where it is not allowed). The test starts the server; it is
    stopped before the disk is unmounted."""
    terminals = Terminals(tmp_path)
    terminals.env["PASSERELLE_SHUTDOWN_GRACE_S"] = "0"
    disk = tmp_path / "server"  # the data directory Terminals.serve uses
    disk.mkdir()
    mount = await asyncio.create_subprocess_exec(
        *("mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_MIB}m,mode=0700", "tmpfs", str(disk)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await mount.communicate()
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {error.decode().strip() or 'mount failed'}")
    try:
        yield terminals, disk
    finally:
        try:
            await terminals.stop_all()
        finally:
            umount = await asyncio.create_subprocess_exec("umount", "--lazy", str(disk))
            await umount.wait()
