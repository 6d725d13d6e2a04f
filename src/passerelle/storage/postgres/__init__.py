"""The PostgreSQL adapter of the ``Store`` port: ``PostgresStore`` (``store``), a ``SqlStore`` made of
``PostgresEngine`` (``engine``, an asyncpg pool) and ``PostgresMailbox`` (``mailbox``, the hot path)."""

from __future__ import annotations

from passerelle.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
