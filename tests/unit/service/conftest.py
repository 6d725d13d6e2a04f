"""The service under test, on the in-memory store (tests/unit/service/world.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from passerelle.domain.limits import Limits
from tests.unit.service.world import World, open_world


@pytest.fixture
def limits() -> Limits:
    """Tests override this fixture (or use ``replace``) to try a limit."""
    return Limits(logins_per_window=1000, codes_per_phone=100, codes_per_client_per_hour=1000)


@pytest_asyncio.fixture
async def world(tmp_path: Path, limits: Limits) -> AsyncIterator[World]:
    async with open_world(tmp_path, limits) as built:
        yield built
