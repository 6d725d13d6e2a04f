"""The kill -9 soak: three ``passerelle serve`` nodes behind HAProxy, SDK clients sending and
receiving continuously through it, and every ``--kill-every`` seconds the node holding the most
WebSockets killed with SIGKILL and started again ``--restart-after`` seconds later. At the end,
every acknowledged message must have been delivered exactly once (counted by id).

    PASSERELLE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
    PASSERELLE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python -m benchmarks.cluster_soak --duration 120 --pairs 6 --out benchmarks/cluster_soak.json

The CI runs the short version (tests/cluster/test_kill_under_load.py); this one writes its figures
(lost, duplicated, time for the cut clients to be back p50/p99/max) as JSON for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.cluster.lb import HAPROXY, three_nodes
from tests.cluster.load import Load
from tests.cluster.test_kill_under_load import busiest


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    kills: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="passerelle-soak-") as tmp:
        folder = Path(tmp)
        config = folder / "soak.toml"  # every client registers from this one address
        config.write_text("[limits]\nlogins_per_window = 100000\n", encoding="utf-8")
        cluster = three_nodes(folder, args=("--config", str(config)))
        async with cluster as c, Load(c.url, folder / "clients", pairs=args.pairs) as load:
            load.start()
            await load.until_acked(20, within_s=60)
            end = time.monotonic() + args.duration
            while time.monotonic() + args.kill_every < end:
                await asyncio.sleep(args.kill_every)
                name = await busiest(c)
                cut_before = len(load.back_s)
                await c.node(name).kill()
                killed_at = time.monotonic()
                await load.watch_reconnects(killed_at, within_s=60)
                back = load.back_s[cut_before:]
                kills.append(
                    {"node": name, "clients_cut": len(back), "back_max_s": round(max(back, default=0), 3)}
                )
                print(
                    f"killed {name}: {len(back)} clients back within {max(back, default=0):.2f} s", flush=True
                )
                await asyncio.sleep(args.restart_after)
                await c.node(name).start()
                await c.lb.wait_up({n.name for n in c.nodes})
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            report = await load.report(within_s=60)
    return {
        "shape": {
            "nodes": 3,
            "balancer": "haproxy leastconn, /readyz checks every 200 ms, fall 2",
            "pairs": args.pairs,
            "in_flight_per_pair": 1,
            "refill": "sent (the next message when the last is acknowledged)",
            "body": "a short text, end-to-end encrypted by the SDK (Olm)",
            "durability": "PostgreSQL commit before sent (synchronous_commit as the server's default)",
            "kill_every_s": args.kill_every,
            "restart_after_s": args.restart_after,
        },
        "duration_s": round(report.seconds, 1),
        "acknowledged": report.acked,
        "delivered": report.delivered,
        "lost": len(report.lost),
        "duplicated": len(report.duplicated),
        "unexpected": len(report.unexpected),
        "kills": kills,
        "clients_cut": len(report.back_s),
        "back_p50_s": round(report.percentile(50), 3),
        "back_p99_s": round(report.percentile(99), 3),
        "back_max_s": round(max(report.back_s, default=0.0), 3),
        "messages_per_s": round(report.acked / report.seconds, 1) if report.seconds else None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m": os.getloadavg()[0],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load in all")
    parser.add_argument("--pairs", type=int, default=6, help="sender/receiver pairs of SDK clients")
    parser.add_argument("--kill-every", type=float, default=20.0, help="seconds between kills")
    parser.add_argument(
        "--restart-after", type=float, default=5.0, help="seconds before the node starts again"
    )
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    if not (os.environ.get("PASSERELLE_TEST_POSTGRES_URL") and os.environ.get("PASSERELLE_TEST_REDIS_URL")):
        parser.error("set PASSERELLE_TEST_POSTGRES_URL and PASSERELLE_TEST_REDIS_URL")
    if HAPROXY is None:
        parser.error("no haproxy: apt-get install -y haproxy (python3 dev.py setup does)")
    figures = asyncio.run(soak(args))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    ok = figures["lost"] == figures["duplicated"] == figures["unexpected"] == 0
    return 0 if ok else 3


if __name__ == "__main__":
    raise SystemExit(main())
