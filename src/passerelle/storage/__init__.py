"""Adapters of the ``Store`` port: ``SqliteStore`` (one process, the default), ``PostgresStore``
(one or several server processes) and ``MemoryStore`` (not durable: tests and trials).
``open_store`` picks one from a database URL."""

from __future__ import annotations

from passerelle.service.ports import Clock, Store
from passerelle.storage.memory import MemoryDatabase, MemoryStore
from passerelle.storage.postgres import PostgresStore
from passerelle.storage.sqlite import SqliteStore

__all__ = ["MemoryDatabase", "MemoryStore", "PostgresStore", "SqliteStore", "open_store"]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")
_MEMORY_URL = "memory:"


def open_store(url: str, *, sqlite_synchronous: str = "FULL", clock: Clock | None = None) -> Store:
    """The store for a database URL, not yet opened: the caller awaits ``open()`` (which applies
    pending migrations) and later ``close()``.

    Args:
        url: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, a PostgreSQL URL
            (``postgresql://user@host:5432/db`` or ``postgres://...``), or ``memory:`` for a new,
            empty in-memory store that keeps nothing once the process ends (tests and trials only).
        sqlite_synchronous: SQLite's ``PRAGMA synchronous`` (FULL, NORMAL, OFF or EXTRA).
        clock: what "now" is when the store decides what has expired (default: the wall clock).

    Raises:
        ValueError: the URL names no supported database.
    """
    if url.startswith(_SQLITE_PREFIX):
        path = url[len(_SQLITE_PREFIX) :]
        if not path or path == ":memory:":
            raise ValueError("a SQLite database URL needs a file path: sqlite:///path/to/file.db")
        return SqliteStore(path, synchronous=sqlite_synchronous, clock=clock)
    if url.startswith(_POSTGRES_PREFIXES):
        return PostgresStore(url, clock=clock)
    if url == _MEMORY_URL:
        return MemoryStore(clock=clock)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:///, postgresql:// or memory:")
