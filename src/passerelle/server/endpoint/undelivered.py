"""The business's messages no device of the person took before the server forgot them: ``failed``
statuses (docs/business.md section 9).

A business's message is stored in each of the person's devices' mailboxes until the device takes it
or the message expires (the ``sent`` frame's ``exp``: the app's retention, 30 days by default); a
device that takes it answers a ``delivered`` receipt, which the endpoint turns into the
``delivered`` status. What the server drops without any device taking it — the person stayed
offline past the expiry, removed every device, deleted their account (their mailboxes go with it,
and nothing more can reach them) — never gets that receipt. So the endpoint keeps each message it
sent until a ``delivered`` or ``read`` receipt names it, and once the server's time passes its
expiry (with ``GRACE_MS`` for a receipt still on its way), the message failed: ``131026``.

The server's time is the endpoint's clock plus the offset seen in the last ``sent`` frame (its
``ts`` is the server's). At most ``MAX_PENDING`` messages are kept (the oldest go first, without a
status).

Durable: the messages waiting and the last offset are kept in a SQLite file of the endpoint's own
directory (``PendingFile``: ``<data_dir>/undelivered.db`` self-run, beside the keys hosted), written
as they change and read again at start, so a restart forgets none. A due message leaves the file
only once its status is handed to the outbox (``Undelivered.done``): a crash in between posts it
again (at least once, as every webhook).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from passerelle.domain.ids import AccountId
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.server.endpoint.state import Lru, Sent
from passerelle.storage.private_files import FILE_MODE, private_dir, tighten

MAX_PENDING: Final = 100_000
GRACE_MS: Final = 60_000
"""After the expiry, how long a ``delivered`` receipt may still be on its way."""
EARLY_RECEIPTS: Final = 10_000
"""Receipts that came before their send's answer (remembered so the send is not kept)."""
PENDING_FILE: Final = "undelivered.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    sent: Sent
    person: BusinessPersonOut
    """The person's ids when it was sent (an erased account's ids are gone from the server)."""
    exp: int


@dataclass(frozen=True, slots=True)
class Added:
    """A message kept (and the ones it pushed out, and the clock's offset), for the journal."""

    mid: int
    pending: Pending
    offset: int
    evicted: list[int]


JournalChange = Added | list[int]
"""A message kept, or the server ids of the messages that left (delivered, or failed and stored)."""


class PendingJournal(Protocol):
    """Where the messages waiting for a receipt are kept across restarts."""

    async def load(self, limit: int) -> tuple[int, list[tuple[int, Pending]]]:
        """(the last offset, the newest ``limit`` messages in the order they were sent)."""
        ...

    async def write(self, changes: list[JournalChange]) -> None:
        """The changes, in their order, in one transaction."""
        ...

    async def close(self) -> None: ...


class Undelivered:
    def __init__(self, *, size: int = MAX_PENDING, journal: PendingJournal | None = None) -> None:
        self._pending: OrderedDict[int, Pending] = OrderedDict()
        self._size = size
        self._journal = journal
        self._early: Lru[int, bool] = Lru(EARLY_RECEIPTS)
        self._offset = 0
        """The server's clock minus the endpoint's, from the last ``sent`` frame."""
        self._changes: list[tuple[JournalChange, asyncio.Future[None]]] = []
        """Changes waiting for the journal: written together, in their order, by one task at a time
        (a campaign's sends answered together share one transaction instead of queueing for one
        each)."""
        self._writer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    async def load(self) -> None:
        """Read the journal again (at start)."""
        if self._journal is None:
            return
        self._offset, kept = await self._journal.load(self._size)
        self._pending = OrderedDict(kept)

    async def sent(self, mid: int, pending: Pending, *, server_ts: int, local_ms: int) -> None:
        """A message the server stored (``server_ts`` its time of storing) and will keep until
        ``pending.exp`` at most."""
        self._offset = server_ts - local_ms
        if pending.exp <= 0 or self._early.get(mid):
            return
        self._pending[mid] = pending
        evicted: list[int] = []
        while len(self._pending) > self._size:
            evicted.append(self._pending.popitem(last=False)[0])
        await self._record(Added(mid, pending, self._offset, evicted))

    async def delivered(self, mid: int) -> None:
        """A device of the person took the message (its ``delivered`` or ``read`` receipt)."""
        if self._pending.pop(mid, None) is None:
            self._early.put(mid, True)  # its send may not have been answered yet
            return
        await self._record([mid])

    def due(self, local_ms: int) -> list[tuple[int, Pending]]:
        """The messages whose expiry passed (by the server's time) with no device taking them;
        each is given once (tell ``done`` once its status is stored)."""
        now = local_ms + self._offset
        gone = [mid for mid, p in self._pending.items() if p.exp + GRACE_MS <= now]
        return [(mid, self._pending.pop(mid)) for mid in gone]

    async def done(self, mids: list[int]) -> None:
        """The statuses of these due messages are stored: they leave the journal."""
        if mids:
            await self._record(list(mids))

    async def _record(self, change: JournalChange) -> None:
        """Once ``change`` is in the journal (with the ones waiting beside it)."""
        if self._journal is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changes.append((change, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_changes(self._journal))
        await done

    async def _write_changes(self, journal: PendingJournal) -> None:
        try:
            while self._changes:
                batch, self._changes = self._changes, []
                try:
                    await journal.write([change for change, _ in batch])
                except Exception as exc:  # each waiting caller sees it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)
        if self._journal is not None:
            await self._journal.close()


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pending (mid INTEGER PRIMARY KEY, wamid TEXT NOT NULL, "
    "account TEXT NOT NULL, number TEXT NOT NULL, tracker TEXT, wa_id TEXT NOT NULL, "
    "user_id TEXT NOT NULL, exp INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ms INTEGER NOT NULL)",
)


class PendingFile:
    """The journal in a SQLite file (0600) of the endpoint's directory; the stdlib ``sqlite3`` in a
    worker thread, one call at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            private_dir(self._path.parent)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                conn.execute(statement)
            for suffix in ("", "-wal", "-shm"):
                tighten(self._path.with_name(self._path.name + suffix), FILE_MODE)
            self._conn = conn
        return self._conn

    def _run(self, statements: list[tuple[str, Any]]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:  # a send answered while the endpoint stops: not kept
                return []
            conn = self._open()
            rows: list[tuple[Any, ...]] = []
            conn.execute("BEGIN")
            try:
                for sql, args in statements:
                    if isinstance(args, list):
                        conn.executemany(sql, args)
                    else:
                        rows += conn.execute(sql, args).fetchall()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return rows

    async def load(self, limit: int) -> tuple[int, list[tuple[int, Pending]]]:
        def read() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            found = self._run(
                [
                    (
                        "DELETE FROM pending WHERE mid NOT IN "
                        "(SELECT mid FROM pending ORDER BY mid DESC LIMIT ?)",
                        (limit,),
                    ),
                    (
                        "SELECT mid, wamid, account, number, tracker, wa_id, user_id, exp FROM pending "
                        "ORDER BY mid",
                        (),
                    ),
                ]
            )
            return found, self._run([("SELECT offset_ms FROM clock WHERE id = 1", ())])

        rows, clock = await asyncio.to_thread(read)
        kept = [
            (
                int(mid),
                Pending(
                    sent=Sent(str(wamid), AccountId(str(account)), str(number), tracker),
                    person=BusinessPersonOut(account_id=str(account), wa_id=str(wa_id), user_id=str(user_id)),
                    exp=int(exp),
                ),
            )
            for mid, wamid, account, number, tracker, wa_id, user_id, exp in rows
        ]
        return (int(clock[0][0]) if clock else 0), kept

    async def write(self, changes: list[JournalChange]) -> None:
        statements: list[tuple[str, Any]] = []
        for change in changes:
            if not isinstance(change, Added):
                statements.append(("DELETE FROM pending WHERE mid = ?", [(m,) for m in change]))
                continue
            s, p = change.pending.sent, change.pending.person
            statements.append(
                (
                    "INSERT OR REPLACE INTO pending "
                    "(mid, wamid, account, number, tracker, wa_id, user_id, exp) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        change.mid,
                        s.wamid,
                        str(s.person),
                        s.number,
                        s.tracker,
                        p.wa_id,
                        p.user_id,
                        change.pending.exp,
                    ),
                )
            )
            if change.evicted:
                statements.append(("DELETE FROM pending WHERE mid = ?", [(m,) for m in change.evicted]))
        offsets = [change.offset for change in changes if isinstance(change, Added)]
        if offsets:
            statements.append(
                (
                    "INSERT INTO clock (id, offset_ms) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms",
                    (offsets[-1],),
                )
            )
        if statements:
            await asyncio.to_thread(self._run, statements)

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                self._closed = True
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(shut)
