"""The fault soak: the fault tests' faults, over and over, for minutes, with the figures.

    .venv/bin/python -m benchmarks.soak [--minutes M] [--pairs P] [--every S] [--json FILE]

Two parts, each for half of ``--minutes``, with ``--pairs`` pairs of SDK clients writing to each
other continuously (tests/faults/traffic.py: one message after the other per direction, each
counted by its text):

1. **kill -9**: ``passerelle serve`` on SQLite in a child process, killed with SIGKILL every
   ``--every`` seconds and started again on the same data directory and port.
2. **Redis and PostgreSQL**: two nodes in this process on a PostgreSQL and a Redis of the soak's
   own (Debian's binaries, tests/faults/services.py); every ``--every`` seconds Redis is killed and
   restarted, or PostgreSQL crashes (immediate shutdown) and comes back after 3 s, in turn.

For each fault it records the **time until every flow had a new acknowledged message** after the
server (or dependency) was back, and the outage as the clients saw it (the longest time without
an acknowledged message, from the fault). At the end: acknowledged, received, **lost,
duplicated** and invented messages per part (must be 0, 0, 0), printed and written as JSON.
Exit status 0 when nothing was lost, duplicated or invented, 3 otherwise. Needs root (or the
binaries' own user) as the fault tests do; results in benchmarks/README.md ("Fault soak").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.e2e.terminals import Terminals
from tests.faults.services import OwnPostgres, OwnRedis, missing_binaries, template_cluster
from tests.faults.traffic import Traffic, both_ways
from tests.integration.cluster import cluster
from tests.ports import reserved_port

from passerelle.sdk import Client

PW = "correct horse battery"
DOWN_S = 3.0


async def people(url: str, folder: Path, count: int, on: list[str] | None = None) -> list[Client]:
    """``count`` people on the photo app (the i-th registered through ``on[i % len(on)]``), connected."""
    clients: list[Client] = []
    for n in range(count):
        server = on[n % len(on)] if on else url
        clients.append(
            await Client.register(server, folder / f"p{n}", app="photo", handle=f"soak{n}", password=PW)
        )
    for client in clients:
        await client.connect()
    return clients


def flows_of(clients: list[Client]) -> Traffic:
    pairs = [(f"{n}", clients[2 * n], clients[2 * n + 1]) for n in range(len(clients) // 2)]
    return Traffic(both_ways(*pairs))


async def resumed(traffic: Traffic) -> float:
    """Seconds until every flow has an acknowledged message it did not have when called."""
    start = time.monotonic()
    await traffic.until_acked(len(traffic.flows))
    return round(time.monotonic() - start, 3)


async def kill_part(folder: Path, pairs: int, seconds: float, every: float) -> dict[str, Any]:
    terminals = Terminals(folder)
    terminals.env["PASSERELLE_SHUTDOWN_GRACE_S"] = "0"
    port = reserved_port()
    faults: list[dict[str, float]] = []
    try:
        await terminals.serve(port=port)
        clients = await people(terminals.url, folder, 2 * pairs)
        try:
            async with flows_of(clients) as traffic:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    await asyncio.sleep(every)
                    server = terminals.server
                    assert server is not None
                    killed = time.monotonic()
                    server.process.send_signal(signal.SIGKILL)
                    await server.exit_status()
                    await terminals.serve(port=port)
                    back = time.monotonic()
                    after = await resumed(traffic)
                    faults.append(
                        {
                            "restart_s": round(back - killed, 3),
                            "clients_back_s": after,
                            "outage_s": round(time.monotonic() - killed, 3),
                        }
                    )
                    print(f"  kill -9 #{len(faults)}: {faults[-1]}", file=sys.stderr)
                await traffic.stop()
                figures = traffic.figures()
        finally:
            for client in clients:
                await client.close()
    finally:
        await terminals.stop_all()
    return {"fault": "kill -9 of the embedded server", "faults": faults, "figures": asdict(figures)}


async def dependency_part(folder: Path, pairs: int, seconds: float, every: float) -> dict[str, Any]:
    with template_cluster() as template:
        postgres = OwnPostgres.copy_of(template)
        redis = OwnRedis.fresh()
        faults: list[dict[str, Any]] = []
        try:
            await postgres.start()
            await redis.start()
            async with cluster(folder, postgres_url=postgres.url, redis_url=redis.url) as c:
                clients = await people("", folder, 2 * pairs, on=[node.url for node in c.nodes])
                try:
                    async with flows_of(clients) as traffic:
                        end = time.monotonic() + seconds
                        turn = 0
                        while time.monotonic() < end:
                            await asyncio.sleep(every)
                            turn += 1
                            started = time.monotonic()
                            if turn % 2:
                                kind = "redis restart"
                                await redis.restart()
                            else:
                                kind = f"postgresql crash, down {DOWN_S} s"
                                await postgres.crash()
                                await asyncio.sleep(DOWN_S)
                                await postgres.start()
                            back = time.monotonic()
                            after = await resumed(traffic)
                            faults.append(
                                {
                                    "kind": kind,
                                    "back_s": round(back - started, 3),
                                    "clients_back_s": after,
                                    "outage_s": round(time.monotonic() - started, 3),
                                }
                            )
                            print(f"  {kind}: {faults[-1]}", file=sys.stderr)
                        await traffic.stop()
                        figures = traffic.figures()
                finally:
                    for client in clients:
                        await client.close()
        finally:
            await postgres.remove()
            await redis.remove()
    return {
        "fault": "Redis restarts and PostgreSQL crashes under two nodes",
        "faults": faults,
        "figures": asdict(figures),
    }


async def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Both parts, in ``tmp/kill`` and ``tmp/deps`` (made by the caller)."""
    half = args.minutes * 60 / 2
    parts: list[dict[str, Any]] = []
    print(f"kill -9 part, {half:.0f} s", file=sys.stderr)
    parts.append(await kill_part(tmp / "kill", args.pairs, half, args.every))
    why = missing_binaries()
    if why is None:
        print(f"Redis and PostgreSQL part, {half:.0f} s", file=sys.stderr)
        parts.append(await dependency_part(tmp / "deps", args.pairs, half, args.every))
    else:
        print(f"Redis and PostgreSQL part skipped: {why}", file=sys.stderr)
    return {
        "ok": all(
            p["figures"]["lost"] == p["figures"]["duplicated"] == p["figures"]["invented"] == 0 for p in parts
        ),
        "options": {"minutes": args.minutes, "pairs": args.pairs, "every_s": args.every},
        "load": f"{args.pairs} pairs of SDK clients, both ways, one message in flight per direction, "
        "next sent when the previous is acknowledged; text bodies of ~10 bytes (Olm-encrypted); "
        "SQLite synchronous=FULL",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "parts": parts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=4.0, help="both parts together")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between faults")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="passerelle-soak-") as tmp:
        for part in ("kill", "deps"):
            (Path(tmp) / part).mkdir()
        result = asyncio.run(soak(args, Path(tmp)))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0 if result["ok"] else 3


if __name__ == "__main__":
    sys.exit(main())
