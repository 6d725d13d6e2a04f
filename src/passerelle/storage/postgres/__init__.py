"""The PostgreSQL adapter of the ``Store`` port: ``PostgresStore`` (``store``) on
``PostgresEngine`` (``engine``, an asyncpg pool), with the mailbox in ``mailbox``."""

from __future__ import annotations

from passerelle.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
