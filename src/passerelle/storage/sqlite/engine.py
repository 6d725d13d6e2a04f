"""The SQLite engine: one thread that owns the connection and runs every job, in order.

Rules:
- The connection is created, used and closed on the writer thread only; nothing else touches it.
- A job is ``fn(conn, *args)``. ``submit`` puts it on a ``queue.SimpleQueue`` and returns a future
  of the event loop. The thread appends each outcome to a deque and wakes the loop with
  ``call_soon_threadsafe`` only when no wake-up is already pending, so under load one wake-up
  completes every job finished meanwhile. No executor, no locks beyond the queue's.
- Transactions are opened here only: ``transact(fn)`` runs ``fn(conn, ...)`` inside BEGIN IMMEDIATE
  ... COMMIT (ROLLBACK if it raises), and ``write`` runs a transaction function (``storage.sql.txn``)
  the same way. ``submit`` and ``read`` run outside one: each statement commits on its own.
- **Group commit of ``write``s**: the ``write`` jobs queued behind one another (logins' tokens,
  settings, keys...: up to ``MAX_WRITE_GROUP``) share one BEGIN ... COMMIT, each inside its own
  SAVEPOINT: one that raises is rolled back alone and gets its error, as in a transaction of its
  own; the others see its effects never. Each outcome is given only after the COMMIT, so a result
  still means "durable"; a COMMIT that fails fails them all (none was committed). Nothing waits for
  a group to fill: it is what was queued already, so an idle server commits each write alone.
  ``transact`` (the message path's batches) is never grouped.
- ``transact_lazy`` is for a transaction that a power cut may undo at no cost but repeated work
  (deleting acknowledged mailbox items: they would be delivered again, and clients deduplicate):
  in WAL mode it commits with ``synchronous = NORMAL``, without waiting for the disk. It is never
  lost alone and never reordered: the WAL is written in order, so the next durable commit
  (``synchronous = FULL``, every message) makes it durable too; and NORMAL never corrupts.
- A job runs to its end even when its awaiting caller was cancelled: a transaction is never cut in
  half. Its result is then dropped.
- ``stop`` lets the jobs already queued finish, closes the connection and ends the thread.
- SQLite's "busy", "locked", I/O and "disk full" errors become ``Unavailable``, and a foreign key
  naming a row that is gone (a device removed meanwhile) ``NotFound``; any other error is a bug and
  reaches the caller unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from passerelle.domain.errors import NotFound, Unavailable
from passerelle.storage import outage
from passerelle.storage.private_files import FILE_MODE, create_dirs, open_private, tighten
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.migrate import CREATE_VERSION_TABLE, SELECT_VERSION, Migration, pending
from passerelle.storage.sql.txn import ALL, COUNT, ONE, Txn

P = ParamSpec("P")
R = TypeVar("R")

MAX_WRITE_GROUP: Final = 64
"""At most this many ``write`` jobs in one transaction."""
SYNCHRONOUS_MODES: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_UNAVAILABLE_CODES: Final = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
    }
)

_Job = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _WRITE(conn: sqlite3.Connection) -> None:  # a marker, never called
    """Marks a ``write`` job: its args are ``(fn, args)``, run with ``_drive`` in a group."""
    raise AssertionError("a write job is run by _write_group")


def translate_error(exc: BaseException) -> BaseException:
    """The exception the awaiting caller sees for one raised on the writer thread."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        err: BaseException | None = None
        if code is not None and (code & 0xFF) in _UNAVAILABLE_CODES:
            outage.report("sqlite", exc)
            err = Unavailable("the database is unavailable")
        elif code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
            err = NotFound("the device, account or conversation no longer exists")
        if err is not None:
            err.__cause__ = exc
            return err
    return exc


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    """Schedule ``callback`` on the loop from the writer thread."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop is closed: nobody is left waiting
        pass


def _resolve(fut: asyncio.Future[Any], result: object) -> None:
    if not fut.done():
        fut.set_result(result)


def _reject(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class SqliteEngine:
    def __init__(
        self,
        path: Path,
        *,
        dialect: Dialect,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
    ) -> None:
        sync = synchronous.upper()
        if sync not in SYNCHRONOUS_MODES:
            raise ValueError(f"sqlite synchronous must be one of {', '.join(sorted(SYNCHRONOUS_MODES))}")
        self.dialect = dialect
        self._path = path
        self._synchronous = sync
        self._busy_timeout_ms = busy_timeout_ms
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._outcomes: collections.deque[tuple[asyncio.Future[Any], bool, Any]] = collections.deque()
        self._wake_pending = False
        self._closed: asyncio.Future[None] | None = None
        self._lazy_sync = False
        """``transact_lazy`` skips the disk sync: the database is in WAL mode and commits sync."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, migrations: list[Migration]) -> None:
        """Start the thread, open the database and apply pending migrations."""
        if self._thread is not None:
            raise RuntimeError("the SQLite engine is already started")
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready, migrations), name="passerelle-sqlite", daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            # Failed, or cancelled while opening: the thread closes the connection and ends.
            self._closing = True
            self._jobs.put(None)
            raise

    async def stop(self) -> None:
        """Finish the queued jobs, close the connection and end the thread."""
        thread = self._thread
        if thread is None or self._closing:
            return
        self._closing = True
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = closed
        self._jobs.put(None)
        await closed
        # The thread completed ``closed`` after closing the connection, as its last act.
        thread.join()

    # -- jobs ----------------------------------------------------------------------------------

    def submit(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[R]:
        """Run ``fn(conn, *args)`` on the writer thread; the future carries its result."""
        loop = self._loop
        if loop is None or self._closing:
            raise Unavailable("the store is closed")
        fut: asyncio.Future[R] = loop.create_future()
        self._jobs.put((fut, fn, args, kwargs))
        return fut

    def transact(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[R]:
        """Run ``fn(conn, *args)`` on the writer thread inside BEGIN IMMEDIATE ... COMMIT (rolled
        back if it raises): the one place SQLite work gets a transaction. Like ``submit``, a future."""
        return self.submit(_in_transaction, fn, args, kwargs)

    def transact_lazy(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[R]:
        """Like ``transact``, for work whose loss in a power cut costs only repeated work: committed
        without waiting for the disk when the database is in WAL mode (see the module's rules)."""
        if not self._lazy_sync:
            return self.transact(fn, *args, **kwargs)
        return self.submit(_in_lazy_transaction, fn, args, kwargs, self._synchronous)

    async def write(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a transaction function in a transaction: its own, or one shared with the ``write``s
        queued with it, each in its own savepoint (the module's rules)."""
        loop = self._loop
        if loop is None or self._closing:
            raise Unavailable("the store is closed")
        fut: asyncio.Future[R] = loop.create_future()
        self._jobs.put((fut, _WRITE, (fn, args), kwargs))
        return await fut

    async def read(
        self, fn: Callable[Concatenate[Dialect, P], Txn[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a read-only transaction function; each of its statements sees committed data."""
        return await self.submit(self._drive, fn, args, kwargs)

    async def ping(self) -> bool:
        try:
            return await self.submit(_ping)
        except (Unavailable, sqlite3.Error):
            return False

    def _drive(
        self,
        conn: sqlite3.Connection,
        fn: Callable[..., Txn[R]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> R:
        render = self.dialect.render
        txn = fn(self.dialect, *args, **kwargs)
        try:
            query = next(txn)
            while True:
                sql = render(query.sql)
                mode = query.mode
                result: object
                if mode == ONE:
                    result = conn.execute(sql, query.args).fetchone()
                elif mode == ALL:
                    result = conn.execute(sql, query.args).fetchall()
                elif mode == COUNT:
                    result = conn.execute(sql, query.args).rowcount
                else:
                    conn.executemany(sql, query.args)
                    result = None
                query = txn.send(result)
        except StopIteration as stop:
            value: R = stop.value
            return value
        finally:
            txn.close()

    # -- the thread ----------------------------------------------------------------------------

    def _serve(
        self,
        ready: asyncio.Future[None],
        migrations: list[Migration],
    ) -> None:
        loop = self._loop
        assert loop is not None
        try:
            conn = self._connect()
            try:
                _migrate(conn, migrations)
            except BaseException:
                conn.close()
                raise
        except BaseException as exc:
            _post(loop, _reject, ready, translate_error(exc))
            return
        _post(loop, _resolve, ready, None)
        try:
            self._run_jobs(conn)
        finally:
            conn.close()
            closed = self._closed
            if closed is not None:
                _post(loop, _resolve, closed, None)

    def _run_jobs(self, conn: sqlite3.Connection) -> None:
        loop = self._loop
        assert loop is not None
        jobs = self._jobs
        outcomes = self._outcomes
        deliver = self._deliver
        held: list[_Job | None] = []  # a job taken from the queue behind a group, run next
        while True:
            job = held.pop() if held else jobs.get()
            if job is None:
                return
            fut, fn, args, kwargs = job
            if fn is _WRITE:
                group = [job]
                while len(group) < MAX_WRITE_GROUP:
                    try:
                        queued = jobs.get_nowait()
                    except queue.Empty:
                        break
                    if queued is None or queued[1] is not _WRITE:
                        held.append(queued)  # run after the group, in order
                        break
                    group.append(queued)
                outcomes.extend(self._write_group(conn, group))
            else:
                try:
                    outcomes.append((fut, True, fn(conn, *args, **kwargs)))
                except BaseException as exc:  # forwarded to the awaiting caller, never swallowed
                    outcomes.append((fut, False, translate_error(exc)))
            # Append first, then test the flag: _deliver clears the flag before draining, so an
            # outcome is either drained by a pending wake-up or schedules its own.
            if not self._wake_pending:
                self._wake_pending = True
                _post(loop, deliver)

    def _write_group(
        self, conn: sqlite3.Connection, group: list[_Job]
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        """Run ``write`` jobs in one transaction, each in a savepoint; their outcomes once committed."""
        if len(group) == 1:
            fut, _, (fn, args), kwargs = group[0]
            try:
                return [(fut, True, _in_transaction(conn, self._drive, (fn, args, kwargs), {}))]
            except BaseException as exc:
                return [(fut, False, translate_error(exc))]
        done: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fut, _, (fn, args), kwargs in group:
                conn.execute("SAVEPOINT w")
                try:
                    value = self._drive(conn, fn, args, kwargs)
                except BaseException as exc:
                    if not conn.in_transaction:  # SQLite rolled it all back (disk full, I/O error)
                        raise
                    conn.execute("ROLLBACK TO w")  # this one alone, as its own transaction would
                    conn.execute("RELEASE w")
                    done.append((fut, False, translate_error(exc)))
                    continue
                conn.execute("RELEASE w")
                done.append((fut, True, value))
            conn.execute("COMMIT")
        except BaseException as exc:  # BEGIN, a savepoint or COMMIT failed: nothing was committed
            failed = translate_error(exc)
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the thread goes on; the next BEGIN says whether the connection can
            return [(job[0], False, failed) for job in group]
        return done

    def _deliver(self) -> None:
        """On the loop: complete every future whose job has finished."""
        self._wake_pending = False
        outcomes = self._outcomes
        while outcomes:
            fut, ok, value = outcomes.popleft()
            if fut.done():  # the caller was cancelled; the job ran anyway
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def _connect(self) -> sqlite3.Connection:
        # The file is created 0600 before SQLite opens it: SQLite gives its -wal and -shm the
        # database's mode. Files left by an older version are tightened to 0600 as well.
        create_dirs(self._path.parent)
        os.close(open_private(self._path, os.O_RDWR))
        for suffix in ("-wal", "-shm", "-journal"):
            tighten(self._path.with_name(self._path.name + suffix), FILE_MODE)
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=True, cached_statements=256
        )
        wal = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        self._lazy_sync = wal and self._synchronous in ("FULL", "EXTRA")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        # Appends dirty random index pages (a device's mailbox, a client id); checkpointing every
        # 10,000 pages instead of 1,000 writes a page rewritten by many commits back once, not many
        # times. The WAL file is cut back to 64 MiB after a checkpoint.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
        conn.execute("PRAGMA journal_size_limit = 67108864")
        # 64 MiB of page cache (the default is 2 MiB): the hot mailbox and client-id index pages
        # stay in memory, and a large batch never spills dirty pages before its commit.
        conn.execute("PRAGMA cache_size = -65536")
        return conn


def _in_transaction(
    conn: sqlite3.Connection, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> R:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args, **kwargs)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _in_lazy_transaction(
    conn: sqlite3.Connection,
    fn: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    synchronous: str,
) -> R:
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        return _in_transaction(conn, fn, args, kwargs)
    finally:
        conn.execute(f"PRAGMA synchronous = {synchronous}")


def _ping(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT 1").fetchone()[0] == 1)


def _migrate(conn: sqlite3.Connection, migrations: list[Migration]) -> None:
    conn.execute(CREATE_VERSION_TABLE)
    applied = int(conn.execute(SELECT_VERSION).fetchone()[0])
    for migration in pending(migrations, applied):
        # executescript commits any open transaction first, so ``transact`` cannot wrap it: BEGIN
        # goes inside the script;
        # the recorded values are an int and a name matched by migrate._FILE.
        script = (
            f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n"
            "INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', {int(time.time() * 1000)});\n"
            "COMMIT;"
        )
        try:
            conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
