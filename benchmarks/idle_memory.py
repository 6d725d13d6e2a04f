"""Where an idle authenticated WebSocket's server memory goes (scenario e, in pieces).

    .venv/bin/python -m benchmarks.idle_memory [--connections N] [--traced] [--top K] [--port P]

Starts the bench's server (``passerelle serve``, picows gateway, SQLite in a temporary directory),
registers N phone accounts, reads the server's VmRSS (median of 3 reads), connects every device
(``hello`` → ``welcome``), waits 3 s and reads VmRSS again: (after − before) / N, as scenario (e).

With ``--traced`` the server runs under ``tracemalloc``, started just before the connects (starting
it at import time makes the server take minutes to start) and read after the idle pause: the Python
allocations still alive, per connection, by the line that made them. VmRSS is then inflated by
tracemalloc's own bookkeeping; read the per-line sizes, and the VmRSS of a run without it. Run
from the repository's root (the traced server imports this module).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import runpy
import signal
import statistics
import sys
import tempfile
import tracemalloc
from pathlib import Path

TRACE_DIR_ENV = "IDLE_MEMORY_TRACE_DIR"
"""Not PASSERELLE_*: the bench passes none of those to its server."""


def serve_traced() -> None:
    """The server process of ``--traced``: SIGUSR1 starts tracemalloc, the second one writes a snapshot."""
    trace_dir = Path(os.environ[TRACE_DIR_ENV])
    signals = [0]

    def on_signal(*_: object) -> None:
        signals[0] += 1
        if signals[0] == 1:
            tracemalloc.start(12)
        else:
            tracemalloc.take_snapshot().dump(str(trace_dir / "snapshot"))
        (trace_dir / f"done{signals[0]}").touch()

    signal.signal(signal.SIGUSR1, on_signal)
    sys.argv = ["passerelle", *sys.argv[2:]]
    runpy.run_module("passerelle", run_name="__main__", alter_sys=True)


async def _signal(pid: int, trace_dir: Path, n: int) -> None:
    os.kill(pid, signal.SIGUSR1)
    while not (trace_dir / f"done{n}").exists():  # noqa: ASYNC110 (written by another process)
        await asyncio.sleep(0.2)


def smaps_kb(pid: int) -> dict[str, int]:
    """Rss in kB of the process's mappings by kind: the brk heap, anonymous mappings by size class
    (glibc's per-thread arenas reserve 64 MB; obmalloc's arenas are 1 MB; large blocks are mmap'ed
    alone), the SQLite files, other files."""
    kinds: dict[str, int] = {}
    kind = "?"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            size_mb = (end - start) / 2**20
            path = head[5] if len(head) > 5 else ""
            if path == "[heap]":
                kind = "brk heap"
            elif path.startswith("["):
                kind = path
            elif path:
                kind = "sqlite files" if ".db" in path or "sqlite" in path else "other files"
            elif size_mb >= 60:
                kind = "anon >= 60 MB (thread arenas)"
            elif size_mb >= 0.99:
                kind = "anon 1-60 MB"
            else:
                kind = "anon < 1 MB"
        elif head[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0) + int(head[1])
    return kinds


async def _rss_kb(pid: int) -> float:
    from passerelle.cli.bench.procstat import read_sample

    values = []
    for _ in range(3):
        await asyncio.sleep(0.5)
        values.append(read_sample(pid).rss_kb)
    return statistics.median(values)


async def measure(connections: int, *, traced: bool, top: int, port: int | None, smaps: bool = False) -> None:
    from passerelle.cli.bench import server as bench_server
    from passerelle.cli.bench.client import BenchSocket, Recorder, connect
    from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
    from passerelle.cli.bench.idle import connections_allowed

    count, limited_by = connections_allowed(connections)
    if limited_by is not None:
        print(f"{count} connections: the file descriptor limit is {limited_by}")
    trace_dir = Path(tempfile.mkdtemp(prefix="passerelle-trace-"))
    if traced:
        bench_server.SERVER_COMMAND = ("-m", "benchmarks.idle_memory", "--serve-traced", "serve")
        os.environ[TRACE_DIR_ENV] = str(trace_dir)
    async with (
        CodeGateway().running() as codes,
        bench_server.spawned_server(extra_config=codes.config(), port=port) as server,
    ):
        accounts = []
        for first in range(0, count, 1000):
            accounts += await register_phones(server.url, codes, min(1000, count - first), first=first)
        await asyncio.sleep(1)
        if traced:
            await _signal(server.pid, trace_dir, 1)
        before = await _rss_kb(server.pid)
        maps_before = smaps_kb(server.pid)
        recorder = Recorder()
        sockets: list[BenchSocket] = []
        for first in range(0, count, 200):
            batch = accounts[first : first + 200]
            sockets += await asyncio.gather(
                *(connect(server.ws_url, a, recorder, ack_batch=1) for a in batch)
            )
        await asyncio.sleep(3)
        after = await _rss_kb(server.pid)
        maps_after = smaps_kb(server.pid)
        if traced:
            await _signal(server.pid, trace_dir, 2)
        await asyncio.gather(*(s.close() for s in sockets))
    print(
        f"{count} idle connections: VmRSS {before / 1024:.1f} MB before, {after / 1024:.1f} MB after: "
        f"{(after - before) / count:.2f} KB per connection{' (tracemalloc running)' if traced else ''}"
    )
    if smaps:
        print("Rss by mapping kind (kB before → after, per connection):")
        for kind in sorted(set(maps_before) | set(maps_after)):
            b, a = maps_before.get(kind, 0), maps_after.get(kind, 0)
            print(f"  {kind:32} {b:9} → {a:9}  {(a - b) / count:8.2f} KB")
    if traced:
        snapshot = tracemalloc.Snapshot.load(str(trace_dir / "snapshot"))
        stats = snapshot.statistics("lineno")
        total = sum(s.size for s in stats)
        print(
            f"Python allocations made since the connects and still alive: {total / count / 1024:.2f} KB each"
        )
        for stat in stats[:top]:
            frame = stat.traceback[0]
            where = frame.filename.split("site-packages/")[-1].split("src/")[-1]
            print(f"{stat.size / count:8.0f} B {stat.count / count:5.1f} blocks  {where}:{frame.lineno}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-traced":
        serve_traced()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument(
        "--traced", action="store_true", help="attribute the Python allocations (tracemalloc)"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--smaps", action="store_true", help="Rss by mapping kind, before and after")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(measure(args.connections, traced=args.traced, top=args.top, port=args.port, smaps=args.smaps))


if __name__ == "__main__":
    main()
