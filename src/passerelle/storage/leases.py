"""Which Lease adapter a deployment uses: a PostgreSQL advisory lock when the nodes share a
PostgreSQL database, else the one process is the only node and always holds it."""

from __future__ import annotations

from passerelle.service.ports import Lease
from passerelle.storage.postgres.lease import PostgresLease

_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class SoleNode:
    """The lease of a server that is alone on its database (SQLite, memory): always held."""

    async def held(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def open_lease(database_url: str, name: str) -> Lease:
    """The lease named ``name`` for the nodes sharing ``database_url``; nothing is opened yet."""
    if database_url.startswith(_POSTGRES_PREFIXES):
        return PostgresLease(database_url, name)
    return SoleNode()
