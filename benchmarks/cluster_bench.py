"""One node against three, on this machine: the closed loop of ``passerelle bench`` scenario (a)
driven through HAProxy at ``passerelle serve`` nodes on PostgreSQL and Redis (tests/cluster/lb.py).

    PASSERELLE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
    PASSERELLE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python -m benchmarks.cluster_bench --pairs 20 --window 8 --duration 10 --out benchmarks/cluster.json

Both runs have the same shape: the nodes (one, or three) behind one HAProxy, the bench's clients on
the fast (picows) gateways through HAProxy's second frontend, ``pairs`` senders each keeping
``window`` messages in flight refilled when its receiver got one, ``body-bytes`` bodies, every
message committed in PostgreSQL before its ``sent``. Server CPU per message sums the nodes'
processes (from /proc); HAProxy's is given apart; PostgreSQL's and Redis's are not counted (the
machine's instances are shared with other work). A run that lost, duplicated or had rejected
messages has no figures (the bench's accounting).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from tests.cluster.lb import HAPROXY, three_nodes

from passerelle.cli.bench.client import Recorder
from passerelle.cli.bench.figures import compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
from passerelle.cli.bench.identity import add_contacts
from passerelle.cli.bench.options import BenchOptions
from passerelle.cli.bench.procstat import ProcSample, clock_ticks_per_s, own_cpu_s, read_sample
from passerelle.cli.bench.runner import PAIR_APP
from passerelle.cli.bench.scenarios import closed_loop
from passerelle.cli.bench.server import CONFIG, ServerHandle
from passerelle.cli.bench.world import Reading, World


class NodesMeter:
    """The bench's Meter over several server processes: their CPU ticks summed (threads by name too)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._start: tuple[float, list[ProcSample], float] | None = None

    async def begin(self) -> None:
        samples = [await asyncio.to_thread(read_sample, pid) for pid in self.pids]
        self._start = (perf_counter(), samples, own_cpu_s())

    async def end(self) -> Reading:
        assert self._start is not None, "begin() first"
        started, before, client = self._start
        elapsed = perf_counter() - started
        after = [await asyncio.to_thread(read_sample, pid) for pid in self.pids]
        threads: dict[str, int] = {}
        for b, a in zip(before, after, strict=True):
            for name, ticks in a.threads.items():
                threads[name] = threads.get(name, 0) + ticks - b.threads.get(name, 0)
        return Reading(
            seconds=elapsed,
            server_cpu_ticks=sum(a.cpu_ticks - b.cpu_ticks for b, a in zip(before, after, strict=True)),
            thread_ticks=threads,
            client_cpu_s=own_cpu_s() - client,
            end=ProcSample(
                cpu_ticks=sum(a.cpu_ticks for a in after),
                rss_kb=sum(a.rss_kb for a in after),
                peak_rss_kb=sum(a.peak_rss_kb for a in after),
                threads={},
            ),
        )


@dataclass
class NodesWorld(World):
    pids: list[int] = field(default_factory=list)

    def meter(self) -> NodesMeter:  # type: ignore[override]
        return NodesMeter(self.pids)


async def measure(nodes: int, options: BenchOptions, folder: Path) -> dict[str, Any]:
    names = ("A", "B", "C")[:nodes]
    pairs = options.pairs
    async with CodeGateway().running() as codes:
        config = folder / "bench.toml"
        config.write_text(CONFIG + codes.config(), encoding="utf-8")
        env = {"PASSERELLE_CODE_SENDER": codes.url}
        async with three_nodes(folder, names, env=env, args=("--config", str(config)), fast=True) as c:
            accounts = await register_phones(c.url, codes, 2 * pairs, apps=(PAIR_APP,))
            await add_contacts(c.url, list(zip(accounts[pairs:], accounts[:pairs], strict=True)))
            handle = ServerHandle(url=c.url, ws_url=c.lb.fast_ws_url, pid=c.nodes[0].pid)
            world = NodesWorld(
                handle, options, Recorder(), accounts[:pairs], accounts[pairs:], pids=[n.pid for n in c.nodes]
            )
            assert c.lb.proc is not None
            lb_pid = c.lb.proc.process.pid
            try:
                await world.connect_senders()
                await world.connect_receivers()
                lb_before = await asyncio.to_thread(read_sample, lb_pid)
                measured = await closed_loop(world)
                lb_after = await asyncio.to_thread(read_sample, lb_pid)
            finally:
                await world.close()
    figures = compute(measured, name=f"{nodes} node(s)", title="closed loop through HAProxy", unit="message")
    out = figures.to_json()
    if figures.ok and figures.units:
        hz = clock_ticks_per_s()
        out["haproxy_cpu_us_per_unit"] = round(
            (lb_after.cpu_ticks - lb_before.cpu_ticks) / hz * 1e6 / figures.units, 2
        )
    out["nodes"] = nodes
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    options = BenchOptions(
        scenarios=("a",),
        pairs=args.pairs,
        window=args.window,
        refill="received",
        body_bytes=args.body_bytes,
        duration_s=args.duration,
        warmup_s=args.warmup,
    )
    results = []
    for nodes in args.nodes:
        with tempfile.TemporaryDirectory(prefix=f"passerelle-cluster-bench-{nodes}-") as tmp:
            result = await measure(nodes, options, Path(tmp))
        print(json.dumps(result), flush=True)
        results.append(result)
    return {
        "shape": {
            "scenario": "a (closed loop)",
            "pairs": args.pairs,
            "in_flight_per_pair": args.window,
            "refill": "received",
            "body_bytes": args.body_bytes,
            "durability": "PostgreSQL commit before sent; Redis pokes between nodes",
            "path": "bench clients -> HAProxy (leastconn, second frontend) -> picows gateways",
            "duration_s": args.duration,
            "warmup_s": args.warmup,
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        "runs": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3], choices=[1, 2, 3])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--body-bytes", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (os.environ.get("PASSERELLE_TEST_POSTGRES_URL") and os.environ.get("PASSERELLE_TEST_REDIS_URL")):
        parser.error("set PASSERELLE_TEST_POSTGRES_URL and PASSERELLE_TEST_REDIS_URL")
    if HAPROXY is None:
        parser.error("no haproxy: apt-get install -y haproxy (python3 dev.py setup does)")
    figures = asyncio.run(run(args))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if all(r.get("ok", False) for r in figures["runs"]) else 3


if __name__ == "__main__":
    raise SystemExit(main())
