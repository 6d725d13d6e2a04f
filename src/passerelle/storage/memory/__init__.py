"""The in-memory adapter of the ``Store`` port: ``MemoryStore`` on a ``MemoryDatabase``. Not
durable: for the fast unit tests of the services, the contract suite and trials."""

from __future__ import annotations

from passerelle.storage.memory.database import MemoryDatabase
from passerelle.storage.memory.store import MemoryStore

__all__ = ["MemoryDatabase", "MemoryStore"]
