"""PostgreSQL and Redis servers of the fault tests' own: Debian's binaries, a temporary data folder,
their own loopback ports. A test kills and restarts them at will; the machine's services (and the
shared test database on 5432, the shared Redis on 6379) are never touched.

PostgreSQL refuses to run as root. When the tests run as root, every PostgreSQL program (``initdb``,
``postgres``) runs as the ``postgres`` system user that Debian's package creates, through
``setpriv`` (util-linux), which *execs* the program: the process the test holds is the postmaster
itself, so signalling it signals PostgreSQL, not a wrapper. Its folders are made in ``/tmp`` and
handed to that user (pytest's own temporary folders are private to root). Run as any other user,
the programs run as that user.

Stopping PostgreSQL "immediately" (SIGQUIT to the postmaster: every backend is killed, nothing is
checkpointed, the next start replays the WAL) is what a crash does to the database; ``kill()`` of
Redis is SIGKILL (the fault tests' Redis keeps nothing on disk, as a cache that restarts empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import asyncpg
import redis.asyncio as aioredis

from tests.ports import reserved_port

START_TIMEOUT_S = 30.0


def _append_to(path: Path) -> BinaryIO:
    """The server's log file (a local file: opening it does not wait)."""
    return path.open("ab")


def postgres_bin() -> Path | None:
    """Debian's newest PostgreSQL server binaries (``/usr/lib/postgresql/<version>/bin``), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def redis_bin() -> str | None:
    return shutil.which("redis-server")


def _as_postgres_user() -> list[str]:
    """The prefix that runs a PostgreSQL program as a user it accepts (see the module's docstring)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def _private_dir(prefix: str) -> Path:
    """A new folder in /tmp that the PostgreSQL programs may own (mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


def init_cluster() -> Path:
    """``initdb`` once into a fresh folder (trust for local connections, user ``postgres``)."""
    binaries = postgres_bin()
    assert binaries is not None
    home = _private_dir("passerelle-pg-template-")
    data = home / "data"
    subprocess.run(
        [
            *_as_postgres_user(),
            str(binaries / "initdb"),
            "--pgdata",
            str(data),
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    return home


@dataclass
class OwnPostgres:
    """One PostgreSQL server on ``port`` with its data in ``home/data``."""

    home: Path
    port: int
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0

    @classmethod
    def copy_of(cls, template: Path) -> OwnPostgres:
        home = _private_dir("passerelle-pg-")
        # ``cp -a`` keeps the owner (the postgres user) and modes (0700) that PostgreSQL insists on.
        subprocess.run(["cp", "-a", str(template / "data"), str(home / "data")], check=True)
        return cls(home=home, port=reserved_port())

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def start(self) -> None:
        binaries = postgres_bin()
        assert binaries is not None
        log = _append_to(self.home / "postgres.log")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *_as_postgres_user(),
                str(binaries / "postgres"),
                "-D",
                str(self.home / "data"),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}")
                try:
                    connection = await asyncpg.connect(self.url, timeout=2)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await asyncio.sleep(0.05)
                    continue
                await connection.close()
                return

    async def crash(self) -> None:
        """Stop at once as a crash would: SIGQUIT to the postmaster (an immediate shutdown: every
        backend dies, no checkpoint; the next start replays the WAL)."""
        await self._signal(signal.SIGQUIT)

    async def stop(self) -> None:
        """A fast, clean shutdown (SIGINT): open connections are closed, a checkpoint is written."""
        await self._signal(signal.SIGINT)

    async def restart(self) -> None:
        await self.crash()
        await self.start()
        self.restarts += 1

    async def _signal(self, sig: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(sig)
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    def log(self) -> str:
        path = self.home / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def remove(self) -> None:
        await self.crash()
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class OwnRedis:
    """One Redis server on ``port``, keeping nothing on disk (a restart starts empty)."""

    home: Path
    port: int
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0

    @classmethod
    def fresh(cls) -> OwnRedis:
        return cls(home=Path(tempfile.mkdtemp(prefix="passerelle-redis-")), port=reserved_port())

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = redis_bin()
        assert binary is not None
        log = _append_to(self.home / "redis.log")
        try:
            self.process = await asyncio.create_subprocess_exec(
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.home),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"Redis did not start:\n{self.log()}")
                client = aioredis.from_url(self.url)
                try:
                    if await client.ping():
                        return
                except (OSError, aioredis.RedisError):
                    await asyncio.sleep(0.05)
                finally:
                    await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: Redis is gone at once, every connection to it broken."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.kill()
        await process.wait()

    async def restart(self) -> None:
        await self.kill()
        await self.start()
        self.restarts += 1

    def log(self) -> str:
        path = self.home / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def remove(self) -> None:
        await self.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def missing_binaries() -> str | None:
    """Why the fault tests' own servers cannot run here (None when they can)."""
    if postgres_bin() is None:
        return (
            "no PostgreSQL server binaries (apt-get install postgresql; python3 dev.py setup does it as root)"
        )
    if redis_bin() is None:
        return "no redis-server (apt-get install redis-server; python3 dev.py setup does it as root)"
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            pwd.getpwnam("postgres")
            if shutil.which("setpriv"):
                return None
        return "running as root without a postgres user and setpriv to run PostgreSQL as"
    return None


@contextlib.contextmanager
def template_cluster() -> Iterator[Path]:
    home = init_cluster()
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)
