"""The SQLite adapter of the ``Store`` port: ``SqliteStore`` (``store``), a ``SqlStore`` made of
``SqliteEngine`` (``engine``, one writer thread) and ``SqliteMailbox`` (``mailbox``, the hot path)."""

from __future__ import annotations

from passerelle.storage.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
