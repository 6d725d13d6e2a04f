"""Fixtures shared by the integration and end-to-end tests: a real server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from passerelle.config import Settings, load_settings
from passerelle.domain.ids import AppName, Timestamp
from passerelle.sdk import Client
from passerelle.server.logs import JsonFormatter
from passerelle.server.runner import RunningServer, running_server

POSTGRES_URL = os.environ.get("PASSERELLE_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")

SERIAL_FOLDERS = ("cluster", "faults")
"""Every test in these folders is marked ``serial``: three-node clusters behind HAProxy and killed
servers under load, whose timings and connection counts assume no other test beside them."""
NODES_GROUP = ("test_multinode", "test_three_nodes")
"""Test files (by name prefix) whose tests start several in-process nodes on the shared PostgreSQL
and Redis: one worker runs them one after another (``xdist_group``), so that no more nodes hold
PostgreSQL connections at once than in a run on one process."""


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``python3 dev.py test`` runs the tests on several pytest-xdist workers, then the ``serial``
    ones alone (docs/operations.md, "The test suite"): mark a test that must not share the machine
    with ``@pytest.mark.serial``; those of SERIAL_FOLDERS are marked here."""
    tests = Path(__file__).resolve().parent
    for item in items:
        parts = item.path.relative_to(tests).parts if item.path.is_relative_to(tests) else ()
        if parts and parts[0] in SERIAL_FOLDERS:
            item.add_marker(pytest.mark.serial)
        if item.path.name.startswith(NODES_GROUP):
            item.add_marker(pytest.mark.xdist_group("nodes"))


@dataclass
class CodeInbox:
    """The test's phone: the code sender the server is given delivers here (an SMS gateway stand-in)."""

    codes: dict[str, str] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        self.codes[phone] = code
        self.arrived.set()

    def code_for(self, phone: str) -> str:
        return self.codes[phone]


class SettableClock:
    """A wall clock that tests can move forward (for expiry); monotonic time follows it."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.offset_ms = 0

    def now_ms(self) -> Timestamp:
        return Timestamp(int(self._time.time() * 1000) + self.offset_ms)

    def monotonic(self) -> float:
        return self._time.monotonic() + self.offset_ms / 1000

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


@dataclass
class ServerHandle:
    running: RunningServer
    data_dir: Path
    log_file: Path
    inbox: CodeInbox
    clock: SettableClock

    @property
    def url(self) -> str:
        return self.running.url

    def database_files(self) -> list[Path]:
        return [p for p in self.data_dir.rglob("*") if p.is_file()]

    def server_files(self) -> list[Path]:
        """Everything the server wrote: its data directory (database, WAL) and its log."""
        return [*self.database_files(), self.log_file]

    async def register_phone(self, store_dir: Path, phone: str, **options: Any) -> Client:
        """A person signs up on the phone-number app ``chat``: the server texts a code, they type it in."""
        return await self._with_code(Client.register, store_dir, phone, **options)

    async def add_phone_device(self, store_dir: Path, phone: str, **options: Any) -> Client:
        """The same person adds a device to their ``chat`` account with a fresh code."""
        return await self._with_code(Client.add_device, store_dir, phone, **options)

    async def _with_code(
        self, enrol: Callable[..., Awaitable[Client]], store_dir: Path, phone: str, **options: Any
    ) -> Client:
        await Client.request_code(self.url, "chat", phone)
        code = self.inbox.code_for(phone)
        return await enrol(self.url, store_dir, app="chat", phone=phone, code=code, **options)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Test settings: both WebSocket gateways on (the fast one on a free port), no periodic janitor."""
    values: dict[str, object] = {"janitor_interval_s": 3600.0, "ws_port": 0, **overrides}
    return load_settings(None, data_dir=data_dir, **values)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every log line of the server goes to this file too, so tests can search it."""
    path = tmp_path / "server.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("passerelle")
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


@pytest_asyncio.fixture
async def server(
    request: pytest.FixtureRequest, tmp_path: Path, log_file: Path
) -> AsyncIterator[ServerHandle]:
    """The real server; a test marked ``@pytest.mark.settings(name=value, ..., limits={name: value})``
    gets those settings."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    inbox = CodeInbox()
    clock = SettableClock()
    marker = request.node.get_closest_marker("settings")
    overrides = dict(marker.kwargs) if marker is not None else {}
    limits = overrides.pop("limits", {})  # {name: value} of the [limits] table
    settings = make_settings(data_dir, **overrides)
    settings = replace(settings, limits=replace(settings.limits, **limits))
    async with running_server(settings, clock=clock, code_sender=inbox) as running:
        yield ServerHandle(running, data_dir, log_file, inbox, clock)


def assert_absent(needles: list[str], files: list[Path]) -> None:
    """The encryption proof: none of the plaintexts appears in any of the files, in any common encoding."""
    assert files, "no files to search"
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # removed since it was listed (SQLite's rollback journal): nothing of it is on disk
        for needle in needles:
            forms = {
                needle.encode("utf-8"),
                needle.encode("utf-16-le"),
                needle.encode("unicode_escape"),
                json.dumps(needle)[1:-1].encode(),  # JSON with \uXXXX escapes
            }
            for form in forms:
                assert form not in data, f"plaintext {needle!r} found in {path}"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto in server mode) for the whole run: its endpoint URL. The
    tests that use it are skipped, saying why, only if moto cannot start here."""
    from tests.moto_s3 import moto_server

    with contextlib.ExitStack() as stack:
        try:
            endpoint = stack.enter_context(moto_server())
        except (ImportError, RuntimeError, OSError) as exc:
            pytest.skip(f"no local S3 server: moto could not start ({exc})")
        yield endpoint
