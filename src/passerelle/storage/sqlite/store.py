"""``SqliteStore``: the Store on one SQLite file (WAL), for a single server process.

A ``SqlStore`` made of ``SqliteEngine`` (``engine``: one writer thread owns the only connection and
runs every call as one job) and the mailbox's hot path for it (``mailbox``).
"""

from __future__ import annotations

from pathlib import Path

from passerelle.service.ports import Clock
from passerelle.storage.sql.dialect import sqlite_dialect
from passerelle.storage.sql.store import SqlStore
from passerelle.storage.sqlite.engine import SqliteEngine
from passerelle.storage.sqlite.mailbox import SqliteMailbox


class SqliteStore(SqlStore):
    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        clock: Clock | None = None,
    ) -> None:
        """A store on the SQLite file at ``path`` (its folder is created on open).

        Args:
            synchronous: SQLite's ``PRAGMA synchronous``. FULL (the default) makes every commit
                durable across a power cut; NORMAL may lose the last commits then, never corrupts.
            busy_timeout_ms: how long to wait for another process holding the file (a backup).
            clock: where "now" comes from when deciding what has expired (default: the wall clock).
        """
        engine = SqliteEngine(
            Path(path), dialect=sqlite_dialect(), synchronous=synchronous, busy_timeout_ms=busy_timeout_ms
        )
        super().__init__(engine, SqliteMailbox(engine), clock=clock)
