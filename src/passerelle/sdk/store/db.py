"""ClientDatabase: the SDK's SQLite file, used from one dedicated thread.

Rules
1. One connection, one thread (a single-worker executor): calls are serialised, and nothing blocking
   runs on the event loop. ``run(fn, *args)`` runs ``fn(conn, *args)`` in one transaction there:
   committed when it returns, rolled back when it raises. Functions run that way end in ``_txn``.
   The calls waiting together (up to ``GROUP_MAX``: a business endpoint's sends in flight, a burst
   of receipts) share one transaction, each in its own savepoint: one that raises is rolled back
   alone, as its own transaction would be, and each caller gets its answer once the shared
   transaction is committed (the durability of one commit per call, with one journal sync for the
   group instead of one per call). They run in the order they were called. Each caller awaits a
   plain asyncio future; a group's answers are handed to the event loop in one thread-safe call
   (no ``concurrent.futures.Future`` and ``wrap_future`` chain per call: that was most of a
   person's CPU per message sent). A call cancelled before its group starts does not run.
2. The file is created with mode 0600 before SQLite opens it (its WAL and shared-memory files
   inherit the mode), and ``secure_delete`` overwrites deleted content, which matters for
   disappearing messages; a purge of expired messages then checkpoints and truncates the WAL, so
   their old pages do not stay there either. Journal mode WAL with ``synchronous=FULL``: each
   commit is synced, as it was with the rollback journal.
3. The schema is versioned with ``PRAGMA user_version``; migrations are forward-only.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
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

_Job = tuple[Callable[[sqlite3.Connection], object], "asyncio.Future[object]", int]
"""A call, its caller's future, and how it runs: ``_NO_TXN``, ``_SYNCED`` or ``_UNSYNCED``."""
_NO_TXN, _SYNCED, _UNSYNCED = 0, 1, 2
_Outcome = tuple["asyncio.Future[object]", bool, object]


def _settle(outcomes: list[_Outcome]) -> None:
    """On the event loop: answer each caller still waiting."""
    for fut, ok, value in outcomes:
        if fut.cancelled():
            continue
        if ok:
            fut.set_result(value)
        else:
            assert isinstance(value, BaseException)
            fut.set_exception(value)


def _answer(outcomes: list[_Outcome]) -> None:
    """From the database thread: hand ``outcomes`` to their loops, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, some in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, some)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


class ClientDatabase:
    """The SQLite file of one device's local store."""

    __slots__ = ("_closed", "_conn", "_jobs", "_synced", "_thread", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # One thread for the file's whole life, waiting on a queue: a call costs a put (no executor
        # work item, lock or condition per call). None tells the thread to stop.
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._synced = True  # the connection's ``synchronous``: FULL (True) or NORMAL
        self._thread = threading.Thread(target=self._serve, name="passerelle-sdk-db", daemon=True)
        self._thread.start()

    @classmethod
    async def open(cls, path: Path, *, create: bool) -> ClientDatabase:
        db = cls(path)
        try:
            await db._call(db._open_sync, create)
        except BaseException:
            db._stop()
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
        # WAL, every commit synced: a commit is an append and one fsync instead of a rollback
        # journal created, synced and deleted (most of a person's CPU per message sent was that
        # file system work). Durable as before, on a crash or a power cut.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
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
        """Run ``fn`` on the database thread, outside any transaction (opening, closing)."""

        def bound(conn: sqlite3.Connection | None) -> T:
            return fn(*args, **kwargs)

        return cast(T, await self._submit(bound, _NO_TXN))

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` in one transaction on the database thread."""

        def bound(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        return cast(T, await self._submit(bound, _SYNCED))

    async def run_unsynced(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """As ``run``, but the commit is not synced by itself (unless it shares a group with a call
        that is): durable at once against the process's crash, and against a power cut from the
        next synced commit (in WAL one sync covers every commit before it). For a write that a
        synced one follows before anything relies on it (or ``sync`` when none comes)."""

        def bound(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        return cast(T, await self._submit(bound, _UNSYNCED))

    async def sync(self) -> None:
        """Make every commit so far durable against a power cut (syncs the WAL)."""
        await self._call(self._sync_sync)

    def _sync_sync(self) -> None:
        if self._conn is not None:
            self._set_synced(True)
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # syncs the WAL before copying

    def _set_synced(self, synced: bool) -> None:
        if synced != self._synced and self._conn is not None:
            self._conn.execute(f"PRAGMA synchronous = {'FULL' if synced else 'NORMAL'}")
            self._synced = synced

    async def _submit(self, fn: Callable[[sqlite3.Connection], object], how: int) -> object:
        if self._closed:
            raise RuntimeError("the local store is closed")
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, done, how))
        return await done

    def _serve(self) -> None:
        """The database thread: the calls waiting, a group at a time, until told to stop; then
        every call left is answered "closed"."""
        stop = False
        while not stop:
            job = self._jobs.get()
            if job is None:
                break
            waiting = [job]
            while len(waiting) < GROUP_MAX:  # what queued up meanwhile joins this group
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                waiting.append(job)
            try:
                self._run_waiting(waiting)
            except BaseException as exc:  # never a caller left waiting forever
                _answer([(fut, False, exc) for _, fut, _ in waiting if not fut.done()])
        closed = RuntimeError("the local store is closed")
        left: list[_Outcome] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                left.append((job[1], False, closed))
        _answer(left)

    def _run_waiting(self, waiting: list[_Job]) -> None:
        """Transactions in groups, a call outside one alone, all in the order they were made."""
        group: list[_Job] = []
        for job in waiting:
            if job[1].cancelled():  # a cancelled call does not run
                continue
            if job[2]:
                group.append(job)
                continue
            if group:
                self._group(group)
                group = []
            try:
                _answer([(job[1], True, job[0](self._conn))])  # type: ignore[arg-type]
            except BaseException as exc:  # forwarded to the awaiting caller
                _answer([(job[1], False, exc)])
        if group:
            self._group(group)

    def _group(self, group: list[_Job]) -> None:
        """Run ``group`` in one transaction, each in a savepoint; answer each once committed."""
        self._set_synced(any(job[2] == _SYNCED for job in group))
        if len(group) == 1:
            fn, fut, _ = group[0]
            try:
                _answer([(fut, True, self._transaction(fn))])
            except BaseException as exc:  # forwarded to the awaiting caller
                _answer([(fut, False, exc)])
            return
        conn = self._conn
        outcomes: list[_Outcome] = []
        try:
            if conn is None:
                raise RuntimeError("the local store is closed")
            conn.execute("BEGIN IMMEDIATE")
            for fn, fut, _ in group:
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
            _answer([(fut, False, exc) for _, fut, _ in group])
            return
        _answer(outcomes)

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

    async def checkpoint(self) -> None:
        """Copy the WAL into the file and empty it: what was deleted (and overwritten in the file,
        ``secure_delete``) leaves the WAL too."""
        await self._call(self._checkpoint_sync)

    def _checkpoint_sync(self) -> None:
        if self._conn is not None:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._closed:
            return
        try:
            if self._conn is not None:
                await self._call(self._close_sync)
        finally:
            self._stop()
        await asyncio.to_thread(self._thread.join)

    def _stop(self) -> None:
        if not self._closed:
            self._closed = True
            self._jobs.put(None)

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
