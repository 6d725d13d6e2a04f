"""Thread CPU of each statement of the SQLite mailbox's append, per message.

    .venv/bin/python benchmarks/sqlite_statements.py [--batch 64] [--rounds 300] [--pairs 20]
        [--synchronous FULL|NORMAL|OFF]

Runs the real ``storage.sqlite.mailbox.append`` on one thread, without an event loop, on a
migrated database in a temporary folder: ``pairs`` senders each writing to their own receiver,
batches of ``batch`` messages whose client ids grow per sender (as the bench's do), each batch
carrying the acks of the previous one (as the pipeline does under load). Every statement is timed
with the thread's CPU clock, so other processes on the machine move the figures less than wall
time. Also printed: the WAL pages each commit wrote (with checkpoints off) and the commits' wall
time. See benchmarks/README.md, "Where the server's time goes".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from passerelle.domain.ids import (
    AccountId,
    AppName,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    Timestamp,
)
from passerelle.service.records import AccountRecord, DeviceRecord, OutgoingMessage
from passerelle.storage.sqlite import mailbox
from passerelle.storage.sqlite.store import SqliteStore

BODY = secrets.token_bytes(200)
DAY_MS = 86_400_000
PAGE = 4096 + 24  # a WAL frame: its header and one page


class Timed:
    """A connection whose ``execute`` and ``executemany`` add their thread CPU to ``cpu``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cpu: dict[str, float] = collections.defaultdict(float)

    def _timed(self, sql: str, call: Callable[..., sqlite3.Cursor], *args: Any) -> sqlite3.Cursor:
        started = time.thread_time()
        cursor = call(sql, *args)
        self.cpu[" ".join(sql.split()[:3])] += time.thread_time() - started
        return cursor

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._timed(sql, self.conn.execute, *args)

    def executemany(self, sql: str, rows: Iterable[Any]) -> sqlite3.Cursor:
        return self._timed(sql, self.conn.executemany, rows)


async def populate(path: Path, count: int) -> list[DeviceId]:
    store = SqliteStore(path)
    await store.open()
    devices: list[DeviceId] = []
    try:
        for i in range(count):
            account = AccountRecord(
                id=AccountId(f"acct{i:06d}"),
                app=AppName("bench"),
                alias=f"user{i}",
                display_name="Bench",
                password_hash=None,
                findability=None,
                read_receipts=True,
                created_at=Timestamp(1),
            )
            device = DeviceRecord(
                id=DeviceId(f"dev{secrets.token_hex(8)}"),
                account=account.id,
                name="bench",
                curve25519="c",
                ed25519="e",
                signature="s",
                created_at=Timestamp(1),
            )
            await store.create_account(
                account, device, token_hash=secrets.token_hex(16), token_expires=Timestamp(1 << 60)
            )
            devices.append(device.id)
    finally:
        await store.close()
    return devices


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64, help="messages per transaction")
    parser.add_argument("--rounds", type=int, default=300, help="transactions")
    parser.add_argument("--pairs", type=int, default=20, help="senders, each to its own receiver")
    parser.add_argument("--synchronous", default="FULL", help="SQLite PRAGMA synchronous")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="passerelle-statements-"))
    try:
        path = folder / "bench.db"
        devices = asyncio.run(populate(path, 2 * args.pairs))
        conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {args.synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # count the pages each commit writes
        conn.execute("PRAGMA cache_size = -65536")
        timed = Timed(conn)
        seq = mailbox.load_sequences(conn)
        sent = collections.Counter[int]()
        acks: list[tuple[DeviceId, MailboxPos]] = []
        commits: list[float] = []
        started = time.thread_time()
        for r in range(args.rounds):
            batch: list[OutgoingMessage] = []
            for i in range(args.batch):
                pair = (r * args.batch + i) % args.pairs
                now = int(time.time() * 1000)
                sent[pair] += 1
                batch.append(
                    OutgoingMessage(
                        kind="msg",
                        conv=ConversationId(f"d_bench{pair}"),
                        sender=AccountId(f"acct{pair:06d}"),
                        sender_device=devices[pair],
                        client_id=ClientMessageId(f"m{sent[pair]:x}"),
                        ts=Timestamp(now),
                        expires_at=Timestamp(now + 30 * DAY_MS),
                        payloads=((devices[args.pairs + pair], BODY),),
                    )
                )
            timed.execute("BEGIN IMMEDIATE")
            results = mailbox.append(timed, seq, batch, acks)  # type: ignore[arg-type]
            wall = time.perf_counter()
            timed.execute("COMMIT")
            commits.append(time.perf_counter() - wall)
            acks = [(item.device, item.pos) for result in results for item in result.items]
        cpu = time.thread_time() - started
        messages = args.rounds * args.batch
        wal = path.with_name(path.name + "-wal")
        pages = (wal.stat().st_size if wal.exists() else 0) / PAGE / args.rounds
        commits.sort()
        print(
            f"batches of {args.batch}, {args.pairs} pairs, synchronous={args.synchronous}: "
            f"{cpu / messages * 1e6:.1f} µs of thread CPU per message; {pages:.1f} WAL pages per commit; "
            f"commit wall p50 {commits[len(commits) // 2] * 1e3:.2f} ms, max {commits[-1] * 1e3:.2f} ms"
        )
        for statement, seconds in sorted(timed.cpu.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds / messages * 1e6:6.2f} µs/msg  {statement}")
        conn.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
