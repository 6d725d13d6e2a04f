"""Micro-benchmark of the Store's hot path: µs of CPU per message.

    .venv/bin/python benchmarks/store_bench.py [--messages N] [--synchronous FULL|NORMAL]

Runs on SQLite (a temporary file) and, when PASSERELLE_BENCH_POSTGRES_URL or
PASSERELLE_TEST_POSTGRES_URL is set, on PostgreSQL (a temporary schema, dropped afterwards).

Each case awaits one store call at a time and runs ``--repeats`` times; the table shows the run
with the least CPU (other processes share the machine). "cpu" is this process's CPU time (all threads: the
event loop and SQLite's writer thread) divided by the messages handled; "wall" the elapsed time per
message. For PostgreSQL, "db cpu" adds the CPU of the server backends that served the pool, read
from /proc when the database runs on this machine (blank otherwise).

Cases: append batches of 1, 64 and 256 messages with one target device each (distinct devices,
fresh client ids), fetch of 256 items from one device, ack of 256 items in one call, and the bare
round trip of ``ping`` (the hand-off cost of one store call).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from passerelle.domain.ids import (
    AccountId,
    AppName,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    Timestamp,
)
from passerelle.service.ports import Store
from passerelle.service.records import AccountRecord, DeviceRecord, OutgoingMessage
from passerelle.storage import PostgresStore, SqliteStore

DEVICES = 1000
BODY = secrets.token_bytes(300)
FAR = Timestamp(4_000_000_000_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    case: str
    per: int
    cpu_us: float
    wall_us: float
    db_cpu_us: float | None


class Meter:
    """CPU and wall clock of a stretch of work, with the database backends' CPU when visible."""

    def __init__(self, backend_pids: Callable[[], Awaitable[list[int]]] | None) -> None:
        self._backend_pids = backend_pids
        self._pids: list[int] = []

    async def measure(self, case: str, units: int, work: Callable[[], Awaitable[None]]) -> Figure:
        if self._backend_pids is not None:
            self._pids = await self._backend_pids()
        db0 = _proc_cpu(self._pids)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await work()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        db1 = _proc_cpu(self._pids)
        db = None if db0 is None or db1 is None else (db1 - db0) / units * 1e6
        return Figure(
            case=case,
            per=units,
            cpu_us=(cpu1 - cpu0) / units * 1e6,
            wall_us=(wall1 - wall0) / units * 1e6,
            db_cpu_us=db,
        )


def _proc_cpu(pids: list[int]) -> float | None:
    if not pids:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def populate(store: Store) -> list[DeviceId]:
    devices: list[DeviceId] = []
    for i in range(DEVICES):
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
        await store.create_account(account, device, token_hash=secrets.token_hex(16), token_expires=FAR)
        devices.append(device.id)
    return devices


def message(target: DeviceId, sender: DeviceId) -> OutgoingMessage:
    return OutgoingMessage(
        kind="msg",
        conv=ConversationId("d_benchconversation"),
        sender=AccountId("acct000000"),
        sender_device=sender,
        client_id=ClientMessageId(secrets.token_hex(8)),
        ts=Timestamp(int(time.time() * 1000)),
        expires_at=FAR,
        payloads=((target, BODY),),
    )


def best(figures: list[Figure]) -> Figure:
    """The least disturbed of several runs (other processes share the CPU)."""
    return min(figures, key=lambda f: f.cpu_us)


async def run_cases(store: Store, meter: Meter, total: int, repeats: int) -> list[Figure]:
    devices = await populate(store)
    sender = devices[0]
    figures: list[Figure] = []
    for size in (1, 64, 256):
        count = max(size, (total // 4 if size == 1 else total) // size * size)
        runs: list[Figure] = []
        for _ in range(repeats):
            batches = [
                [message(devices[(b * size + i) % DEVICES], sender) for i in range(size)]
                for b in range(count // size)
            ]

            async def appends(batches: list[list[OutgoingMessage]] = batches) -> None:
                for batch in batches:
                    await store.append(batch)

            runs.append(await meter.measure(f"append, batches of {size}", count, appends))
        figures.append(best(runs))

    target = devices[1]
    await store.ack([(target, MailboxPos(2**62))])
    for _ in range(256 // 64):
        await store.append([message(target, sender) for _ in range(64)])
    rounds = max(10, total // 1024)

    async def fetches() -> None:
        for _ in range(rounds):
            items = await store.fetch(target, after=MailboxPos(0), limit=256)
            assert len(items) == 256, len(items)

    figures.append(
        best([await meter.measure("fetch 256 items", rounds * 256, fetches) for _ in range(repeats)])
    )

    acks: list[Figure] = []
    for _ in range(rounds * repeats):
        stored = await store.append([message(target, sender) for _ in range(256)])
        last = max(r.items[-1].pos for r in stored)

        async def ack_all(last: MailboxPos = last) -> None:
            assert await store.ack([(target, last)]) >= 256

        acks.append(await meter.measure("ack 256 items in one call", 256, ack_all))
    acks.sort(key=lambda f: f.cpu_us)
    figures.append(acks[len(acks) // 2])  # one call is too short for a minimum: take the median

    pings = max(1000, total // 4)

    async def ping_many() -> None:
        for _ in range(pings):
            await store.ping()

    figures.append(
        best([await meter.measure("ping (one call's hand-off)", pings, ping_many) for _ in range(repeats)])
    )
    return figures


def print_table(title: str, figures: list[Figure]) -> None:
    print(f"\n### {title}\n")
    print("| case | messages | cpu µs/msg | wall µs/msg | db cpu µs/msg |")
    print("|---|---:|---:|---:|---:|")
    for f in figures:
        db = "" if f.db_cpu_us is None else f"{f.db_cpu_us:.1f}"
        print(f"| {f.case} | {f.per} | {f.cpu_us:.1f} | {f.wall_us:.1f} | {db} |")


async def bench_sqlite(total: int, repeats: int, synchronous: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="passerelle-bench-"))
    store = SqliteStore(folder / "bench.db", synchronous=synchronous)
    try:
        await store.open()
        figures = await run_cases(store, Meter(None), total, repeats)
    finally:
        await store.close()
        shutil.rmtree(folder, ignore_errors=True)
    print_table(f"SQLite {__import__('sqlite3').sqlite_version}, synchronous={synchronous}", figures)


async def bench_postgres(url: str, total: int, repeats: int, *, local: bool) -> None:
    schema = f"passerelle_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        store = PostgresStore(url, search_path=schema, min_size=1, max_size=4)

        async def backend_pids() -> list[int]:
            rows = await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'passerelle' "
                "AND datname = current_database()"
            )
            return [int(r[0]) for r in rows]

        try:
            await store.open()
            figures = await run_cases(store, Meter(backend_pids if local else None), total, repeats)
        finally:
            await store.close()
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()
    print_table(f"PostgreSQL {version} (asyncpg pool)", figures)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20480, help="messages per append case")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the least disturbed is shown")
    parser.add_argument("--synchronous", default="FULL", help="SQLite PRAGMA synchronous")
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="run one engine")
    args = parser.parse_args()
    if args.only != "postgres":
        asyncio.run(bench_sqlite(args.messages, args.repeats, args.synchronous))
    url = os.environ.get("PASSERELLE_BENCH_POSTGRES_URL") or os.environ.get("PASSERELLE_TEST_POSTGRES_URL")
    if url and args.only != "sqlite":
        local = Path("/proc").is_dir() and url.split("@")[-1].startswith(("127.0.0.1", "localhost", "/"))
        asyncio.run(bench_postgres(url, args.messages, args.repeats, local=local))


if __name__ == "__main__":
    main()
