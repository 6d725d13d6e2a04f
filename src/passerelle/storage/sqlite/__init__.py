"""The SQLite adapter of the ``Store`` port: ``SqliteStore`` (``store``) on ``SqliteEngine``
(``engine``, one writer thread), with the mailbox's hot path in ``mailbox``."""

from __future__ import annotations

from passerelle.storage.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
