"""``MemoryStore``: the whole Store port in memory, for tests and trials. Nothing is durable.

It is composed of one part per port (``accounts``, ``credentials``, ``keys``, ``conversations``,
``mailbox``, ``media``, ``privacy``, ``erasure``, ``groups``, ``stories``), all working on one
``MemoryDatabase``. The database is given to the store, or made by it: several stores made on the
same database see the same rows, as stores opened on the same file do. See ``part`` for how each
method is one atomic transaction under asyncio.
"""

from __future__ import annotations

import time

from passerelle.domain.ids import Timestamp
from passerelle.service.ports import Clock, Store
from passerelle.storage.memory.accounts import MemoryAccountStore, MemoryDeviceStore
from passerelle.storage.memory.conversations import MemoryConversationStore
from passerelle.storage.memory.credentials import MemoryCodeStore, MemoryTokenStore
from passerelle.storage.memory.database import MemoryDatabase
from passerelle.storage.memory.erasure import MemoryErasure
from passerelle.storage.memory.groups import MemoryGroupStore
from passerelle.storage.memory.keys import MemoryKeyStore
from passerelle.storage.memory.mailbox import MemoryMailbox
from passerelle.storage.memory.media import MemoryMediaStore
from passerelle.storage.memory.privacy import MemoryPrivacyStore
from passerelle.storage.memory.stories import MemoryStoryStore


def _wall_clock_ms() -> Timestamp:
    return Timestamp(time.time_ns() // 1_000_000)


class MemoryStore(
    MemoryAccountStore,
    MemoryDeviceStore,
    MemoryTokenStore,
    MemoryCodeStore,
    MemoryKeyStore,
    MemoryConversationStore,
    MemoryMailbox,
    MemoryMediaStore,
    MemoryPrivacyStore,
    MemoryErasure,
    MemoryGroupStore,
    MemoryStoryStore,
):
    def __init__(self, database: MemoryDatabase | None = None, *, clock: Clock | None = None) -> None:
        """A store on ``database`` (a new, empty one when None), unopened.

        Args:
            clock: where "now" comes from when deciding what has expired (default: the wall clock).
        """
        self._db = MemoryDatabase() if database is None else database
        self._now = _wall_clock_ms if clock is None else clock.now_ms
        self._is_open = False

    @property
    def database(self) -> MemoryDatabase:
        """The database this store works on (to make another store on it, or to look inside)."""
        return self._db

    async def open(self) -> None:
        """Nothing to connect to and no migration: the store answers from now on."""
        self._is_open = True

    async def close(self) -> None:
        """The store answers no more; its database keeps every row."""
        self._is_open = False

    async def ping(self) -> bool:
        return self._is_open


def _implements_the_port(store: MemoryStore) -> Store:
    return store  # mypy checks here that MemoryStore is a Store
