"""What every part of ``SqlStore`` shares: the engine it runs transaction functions on, the clock,
and the engine's mailbox hot path.

``SqlStore`` is one part class per port of ``service.ports`` (``SqlAccountStore`` in ``accounts``,
``SqlMailbox`` in ``mailbox``, ...), as ``MemoryStore`` is. A part's method runs one transaction
function of its module on ``_engine``: ``read`` for committed reads, ``write`` for one transaction.
What differs by engine is composed in, never subclassed: the ``SqlEngine`` (``SqliteEngine``,
``PostgresEngine``) and its ``EngineMailbox`` (``SqliteMailbox``, ``PostgresMailbox``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from passerelle.domain.ids import DeviceId, MailboxPos, Timestamp
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.migrate import Migration
from passerelle.storage.sql.txn import Txn

P = ParamSpec("P")
R = TypeVar("R")


class SqlEngine(Protocol):
    """Runs a transaction function as committed reads (``read``) or in one transaction (``write``)."""

    @property
    def dialect(self) -> Dialect: ...

    async def start(self, migrations: list[Migration]) -> None:
        """Connect and apply the pending migrations."""
        ...

    async def stop(self) -> None: ...

    async def ping(self) -> bool: ...

    async def read(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...

    async def write(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...


class EngineMailbox(Protocol):
    """The mailbox's hot path, written for one engine. ``SqlMailbox`` calls it only with work to do."""

    async def open(self) -> None:
        """Once the engine has started (SQLite loads its counters here)."""
        ...

    async def append(
        self, batch: Sequence[OutgoingMessage], acks: Sequence[tuple[DeviceId, MailboxPos]]
    ) -> list[AppendResult]: ...

    async def fetch(
        self, device: DeviceId, after: MailboxPos, limit: int, now: Timestamp
    ) -> list[MailboxItem]: ...

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int: ...

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int: ...


def wall_clock_ms() -> Timestamp:
    return Timestamp(time.time_ns() // 1_000_000)


class SqlPart:
    _engine: SqlEngine
    _mailbox: EngineMailbox
    _now: Callable[[], Timestamp]
