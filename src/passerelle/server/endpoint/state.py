"""What a business endpoint keeps between events: bounded maps (``Lru``), where its webhooks go
(``EventSink``) and how far the replay got (``Cursor``, ``FileCursor``).

Everything the endpoint keeps in memory (people's ids and names, sent messages) is bounded.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from passerelle.domain.ids import AccountId
from passerelle.proto.cloud.webhooks import WebhookPayload

CACHE_ENTRIES = 10_000

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A bounded map: the least recently used entry goes first."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


class EventSink(Protocol):
    """Where webhooks go: a durable outbox (the server's for a hosted endpoint, the endpoint's own
    SQLite file for a self-run one). Returns once the event is stored."""

    async def enqueue(self, payload: WebhookPayload) -> None: ...

    async def enqueue_many(self, payloads: Sequence[WebhookPayload]) -> None:
        """Each in turn, stored in one transaction."""
        ...


class Cursor(Protocol):
    """The server id of the last incoming message handed to the sink (the replay's start)."""

    async def load(self) -> int: ...

    async def save(self, mid: int) -> None: ...


class FileCursor:
    """The cursor in a small file beside the endpoint's keys, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def load(self) -> int:
        def read() -> int:
            try:
                return int(self._path.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                return 0

        return await asyncio.to_thread(read)

    async def save(self, mid: int) -> None:
        def write() -> None:
            temp = self._path.with_suffix(".tmp")
            temp.write_text(str(mid))
            temp.replace(self._path)

        await asyncio.to_thread(write)


@dataclass(frozen=True, slots=True)
class Sent:
    """One of the business's messages, by its server id: for the statuses its receipts become."""

    wamid: str
    person: AccountId
    number: str
    tracker: str | None


Authorize = Callable[[str, str], Awaitable[None]]
"""(number, bearer token) → None, or raises ``CloudApiError`` (190, or 100 for another number)."""
