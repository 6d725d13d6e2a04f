"""The end-to-end tests' terminals: a fresh ``passerelle serve`` and the clients each test starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.e2e.terminals import Terminals


@pytest_asyncio.fixture
async def terminals(tmp_path: Path) -> AsyncIterator[Terminals]:
    terminals = Terminals(tmp_path)
    try:
        await terminals.serve()
        yield terminals
    finally:
        await terminals.stop_all()


@pytest_asyncio.fixture
async def no_server(tmp_path: Path) -> AsyncIterator[Terminals]:
    """Terminals with no server started (a test starts one when it wants)."""
    terminals = Terminals(tmp_path)
    try:
        yield terminals
    finally:
        await terminals.stop_all()
