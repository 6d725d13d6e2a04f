"""``MemoryPart``: what every part of ``MemoryStore`` shares — the database, the clock, and the
one way into a transaction.

Rules (the in-memory counterpart of the SQL engines' transactions):
- Every store method starts with ``db = await self._begin()``, which yields to the event loop once
  (as a round trip to a database does) and refuses a store that is not open (``Unavailable``).
  Without that yield a task polling the store in a loop would starve every other task (the
  contract's reader test would never end).
- After that the method runs to its end without awaiting anything. The event loop runs one callback
  at a time, so each method is one atomic, isolated transaction: no lock is needed, and concurrent
  callers see each other's transactions whole or not at all. No thread, no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import Timestamp
from passerelle.storage.memory.database import MemoryDatabase


class MemoryPart:
    _db: MemoryDatabase
    _now: Callable[[], Timestamp]
    _is_open: bool

    async def _begin(self) -> MemoryDatabase:
        await asyncio.sleep(0)
        if not self._is_open:
            raise Unavailable("the store is closed")
        return self._db
