"""Per-customer conversation state (docs/bots.md, "State"), kept in a SQLite file so that it
survives a restart: one row per (business, customer ``user_id``) with the conversation's ``step``,
the bot's own ``data`` (JSON) and whether a person has the conversation (``handoff``).

The stdlib ``sqlite3`` runs in a worker thread (``asyncio.to_thread``), one call at a time, so the
event loop never waits on the disk. ``data`` is bounded (``MAX_DATA_BYTES``).

The same file keeps the digests of the last updates the bot handled (``handled_update``, the newest
``keep`` of them), so that an update posted again after a restart is not handled twice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_DATA_BYTES = 64 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_state (
    business TEXT NOT NULL,
    user_id TEXT NOT NULL,
    step TEXT,
    data TEXT NOT NULL,
    handoff TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (business, user_id)
) WITHOUT ROWID
"""
HANDLED_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_update (
    seq INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE
)
"""


class StateTooLarge(ValueError):
    """A conversation's ``data`` over ``MAX_DATA_BYTES``: not saved."""


@dataclass(slots=True)
class State:
    """One customer's conversation: change ``step`` and ``data`` in a handler, they are saved when
    it returns (``Context.state``)."""

    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    handoff: str | None = None
    """The open hand-off's id while a person has the conversation (the bot is silent)."""

    def reset(self) -> None:
        """Forget the step and the data (the hand-off stays)."""
        self.step = None
        self.data = {}

    def snapshot(self) -> tuple[str | None, str, str | None]:
        return self.step, json.dumps(self.data, sort_keys=True, ensure_ascii=False), self.handoff


class StateStore:
    """The states of every customer of a bot, in ``path`` (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SCHEMA)
            conn.execute(HANDLED_SCHEMA)
            self._conn = conn
        return self._conn

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._open().execute(sql, args).fetchall()

    async def load(self, business: str, user_id: str) -> State:
        rows = await asyncio.to_thread(
            self._run,
            "SELECT step, data, handoff FROM conversation_state WHERE business = ? AND user_id = ?",
            (business, user_id),
        )
        if not rows:
            return State()
        step, data, handoff = rows[0]
        return State(step=step, data=json.loads(data), handoff=handoff)

    async def save(self, business: str, user_id: str, state: State) -> None:
        step, data, handoff = state.snapshot()
        if len(data.encode()) > MAX_DATA_BYTES:
            raise StateTooLarge(f"a conversation's data is over {MAX_DATA_BYTES} bytes once in JSON")
        await asyncio.to_thread(
            self._run,
            "INSERT INTO conversation_state (business, user_id, step, data, handoff, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (business, user_id) DO UPDATE SET "
            "step = excluded.step, data = excluded.data, handoff = excluded.handoff, "
            "updated_at = excluded.updated_at",
            (business, user_id, step, data, handoff, int(time.time())),
        )

    async def forget(self, business: str, user_id: str) -> None:
        await asyncio.to_thread(
            self._run,
            "DELETE FROM conversation_state WHERE business = ? AND user_id = ?",
            (business, user_id),
        )

    async def handled_before(self, ident: str) -> bool:
        """Whether the update ``ident`` is among the last handled ones (``mark_handled``)."""
        digest = hashlib.sha256(ident.encode()).hexdigest()
        rows = await asyncio.to_thread(self._run, "SELECT 1 FROM handled_update WHERE digest = ?", (digest,))
        return bool(rows)

    async def mark_handled(self, ident: str, *, keep: int) -> None:
        """Remember that the update ``ident`` was handled; only the newest ``keep`` are kept."""
        digest = hashlib.sha256(ident.encode()).hexdigest()
        await asyncio.to_thread(self._mark, digest, keep)

    def _mark(self, digest: str, keep: int) -> None:
        with self._lock:
            conn = self._open()
            cursor = conn.execute("INSERT OR IGNORE INTO handled_update (digest) VALUES (?)", (digest,))
            if cursor.lastrowid:
                conn.execute("DELETE FROM handled_update WHERE seq <= ?", (cursor.lastrowid - keep,))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
