"""A login's one write (the token stored with its challenge spent) on the real SQLite store, many
devices at once: how many a second and the writer thread's CPU for each (benchmarks/README.md,
scenario f). ``--concurrency`` logins are in flight at a time, as the bench's 16 devices are.

    .venv/bin/python benchmarks/login_writes.py [--writes 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import threading
import time
from pathlib import Path

from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.service.records import AccountRecord, DeviceRecord
from passerelle.storage import SqliteStore

NOW = 1_700_000_000_000
DAY_MS = 86_400_000


def _thread_cpu_s(name: str) -> float:
    """CPU seconds of this process's thread called ``name`` (from /proc)."""
    ident = next(t.native_id for t in threading.enumerate() if t.name == name)
    fields = Path(f"/proc/self/task/{ident}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


async def run(writes: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = SqliteStore(Path(root) / "bench.db")
        await store.open()
        devices = []
        for n in range(concurrency):
            account = AccountRecord(
                id=AccountId(f"acc_{n}"),
                app=AppName("chat"),
                alias=f"u{n}",
                display_name="U",
                password_hash="",
                findability=None,
                read_receipts=True,
                created_at=Timestamp(NOW),
            )
            device = DeviceRecord(
                id=DeviceId(f"dev_{n}"),
                account=account.id,
                name="phone",
                curve25519="c",
                ed25519="e",
                signature="s",
                created_at=Timestamp(NOW),
            )
            await store.create_account(
                account, device, token_hash=f"t{n}", token_expires=Timestamp(NOW + DAY_MS)
            )
            devices.append(device.id)
        left = [writes]

        async def device_logs_in(device: DeviceId) -> None:
            while left[0] > 0:
                left[0] -= 1
                assert await store.spend_challenge(
                    secrets.token_hex(32),
                    device=device,
                    expires_at=Timestamp(NOW + 60_000),
                    token_hash=secrets.token_hex(32),
                    token_expires_at=Timestamp(NOW + DAY_MS),
                )

        cpu, wall = _thread_cpu_s("passerelle-sqlite"), time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for ident in devices:
                group.create_task(device_logs_in(ident))
        wall, cpu = time.perf_counter() - wall, _thread_cpu_s("passerelle-sqlite") - cpu
        await store.close()
    print(
        f"{writes} token writes, {concurrency} at a time: {writes / wall:,.0f}/s, "
        f"writer thread {cpu / writes * 1e6:,.0f} us of CPU each"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.writes, args.concurrency))


if __name__ == "__main__":
    main()
