"""ClientDatabase: the SDK's SQLite file, used from one dedicated thread.

Rules
1. One connection, one thread (a single-worker executor): calls are serialised, and nothing blocking
   runs on the event loop. ``run(fn, *args)`` runs ``fn(conn, *args)`` in one transaction there:
   committed when it returns, rolled back when it raises. Functions run that way end in ``_txn``.
   The calls waiting together (up to ``GROUP_MAX``: a business endpoint's sends in flight, a burst
   of receipts) share one transaction, each in its own savepoint: one that raises is rolled back
   alone, as its own transaction would be, and each caller gets its answer once the shared
   transaction is committed (the durability of one commit per call, with one journal sync for the
   group instead of one per call). They run in the order they were called.
2. The file is created with mode 0600 before SQLite opens it (its journal inherits the mode), and
   ``secure_delete`` overwrites deleted content, which matters for disappearing messages.
3. The schema is versioned with ``PRAGMA user_version``; migrations are forward-only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar, cast

from passerelle.sdk.store.group_state import GROUP_SCHEMA
from passerelle.sdk.store.rich_state import ANNOTATION_SCHEMA
from passerelle.sdk.store.story_state import STORY_SCHEMA

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE olm_sessions (
  session_id TEXT PRIMARY KEY, peer_key TEXT NOT NULL, seq INTEGER NOT NULL, pickle TEXT NOT NULL);
CREATE TABLE devices (
  account_id TEXT NOT NULL, device_id TEXT NOT NULL, name TEXT NOT NULL, curve25519 TEXT NOT NULL,
  ed25519 TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (account_id, device_id));
CREATE TABLE device_lists (account_id TEXT PRIMARY KEY, fetched_at INTEGER NOT NULL);
CREATE TABLE contacts (account_id TEXT PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE conversations (
  conv TEXT PRIMARY KEY, kind TEXT NOT NULL, members TEXT NOT NULL, timer INTEGER NOT NULL DEFAULT 0,
  last_ts INTEGER);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, conv TEXT NOT NULL, sender TEXT NOT NULL, sender_device TEXT NOT NULL,
  client_id TEXT NOT NULL, mid INTEGER, ts INTEGER NOT NULL, expires_at INTEGER,
  outgoing INTEGER NOT NULL, state TEXT NOT NULL, resends INTEGER NOT NULL DEFAULT 0,
  body BLOB NOT NULL, UNIQUE (sender_device, client_id));
CREATE INDEX messages_by_conv ON messages (conv, ts, id);
CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE message_ids (
  mid INTEGER PRIMARY KEY, message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE);
CREATE TABLE processed (mid INTEGER PRIMARY KEY, exp INTEGER NOT NULL);
"""

EXTRA_SCHEMAS: tuple[str, ...] = (GROUP_SCHEMA, ANNOTATION_SCHEMA, STORY_SCHEMA)
GROUP_MAX = 256
"""Calls waiting together that share one transaction at most."""

_Job = tuple[Callable[[sqlite3.Connection], object], "concurrent.futures.Future[object]"]


class ClientDatabase:
    """The SQLite file of one device's local store."""

    __slots__ = ("_conn", "_draining", "_executor", "_jobs", "_lock", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="passerelle-sdk-db")
        self._conn: sqlite3.Connection | None = None
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._draining = False

    @classmethod
    async def open(cls, path: Path, *, create: bool) -> ClientDatabase:
        db = cls(path)
        try:
            await db._call(db._open_sync, create)
        except BaseException:
            db._executor.shutdown(wait=False)
            raise
        return db

    def _open_sync(self, create: bool) -> None:
        if create:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        os.chmod(self.path, 0o600)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        elif version > SCHEMA_VERSION:
            conn.close()
            raise RuntimeError(f"the local store is from a newer SDK (schema {version})")
        for script in EXTRA_SCHEMAS:  # CREATE ... IF NOT EXISTS: tables added since version 1
            conn.executescript(script)
        self._conn = conn

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` in one transaction on the database thread."""

        def bound(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        done: concurrent.futures.Future[object] = concurrent.futures.Future()
        with self._lock:
            self._jobs.append((bound, done))
            start = not self._draining
            self._draining = True
        if start:
            try:
                self._executor.submit(self._drain)
            except BaseException:  # the executor is shut down: the store is closed
                with self._lock:
                    self._draining = False
                    self._jobs.clear()
                raise RuntimeError("the local store is closed") from None
        return cast(T, await asyncio.wrap_future(done))

    def _drain(self) -> None:
        """On the database thread: the calls waiting, a group at a time, until none is left."""
        try:
            self._drain_groups()
        except BaseException as exc:  # never left "draining" with callers waiting forever
            with self._lock:
                self._draining = False
                left, self._jobs = list(self._jobs), deque()
            for _, fut in left:
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(exc)
            raise

    def _drain_groups(self) -> None:
        while True:
            with self._lock:
                group: list[_Job] = []
                while self._jobs and len(group) < GROUP_MAX:
                    job = self._jobs.popleft()
                    if job[1].set_running_or_notify_cancel():  # a cancelled call does not run
                        group.append(job)
                if not group and not self._jobs:
                    self._draining = False
                    return
            if group:
                self._group(group)

    def _group(self, group: list[_Job]) -> None:
        """Run ``group`` in one transaction, each in a savepoint; answer each once committed."""
        if len(group) == 1:
            fn, fut = group[0]
            try:
                fut.set_result(self._transaction(fn))
            except BaseException as exc:  # forwarded to the awaiting caller
                fut.set_exception(exc)
            return
        conn = self._conn
        outcomes: list[tuple[concurrent.futures.Future[object], bool, object]] = []
        try:
            if conn is None:
                raise RuntimeError("the local store is closed")
            conn.execute("BEGIN IMMEDIATE")
            for fn, fut in group:
                conn.execute("SAVEPOINT call")
                try:
                    value = fn(conn)
                except Exception as exc:
                    if not conn.in_transaction:  # SQLite rolled it all back (disk full, I/O error)
                        raise
                    conn.execute("ROLLBACK TO call")  # this one alone, as its own transaction would
                    conn.execute("RELEASE call")
                    outcomes.append((fut, False, exc))
                    continue
                conn.execute("RELEASE call")
                outcomes.append((fut, True, value))
            conn.execute("COMMIT")
        except BaseException as exc:  # BEGIN, a savepoint or COMMIT failed: nothing was committed
            if conn is not None and conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the next BEGIN says whether the connection can go on
            for _, fut in group:
                fut.set_exception(exc)
            return
        for fut, ok, value in outcomes:
            if ok:
                fut.set_result(value)
            else:
                assert isinstance(value, BaseException)
                fut.set_exception(value)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError("the local store is closed")
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def close(self) -> None:
        if self._conn is not None:
            await self._call(self._close_sync)
        self._executor.shutdown(wait=True)

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
