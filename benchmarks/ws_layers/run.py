"""Runs every candidate server ``--repeats`` times against the load client and prints a markdown table.

Per run: start the server process, wait until its port accepts, read its CPU time (user+sys from
/proc/<pid>/stat), run the client process to completion, read the server CPU again, stop the server.
µs/frame = server CPU delta / inbound frames; frames/s = inbound frames / client wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.ws_layers.common import BATCH_EVERY, BATCH_EVERY_ENV, process_cpu_seconds

SERVER_CPU, CLIENT_CPU = 0, 1  # pinned apart, or the scheduler may run both on one core
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    name: str
    module: str
    args: tuple[str, ...] = ()


CANDIDATES: tuple[Candidate, ...] = (
    Candidate(name="picows (aiofastnet transport, default)", module="server_picows"),
    Candidate(name="picows (plain asyncio transport)", module="server_picows", args=("--no-aiofastnet",)),
    Candidate(name="picows + TCP_CORK per read burst", module="server_picows", args=("--coalesce", "cork")),
    Candidate(
        name="picows + one ack frame per read burst", module="server_picows", args=("--coalesce", "burst")
    ),
    Candidate(name="websockets asyncio server", module="server_websockets"),
    *(
        Candidate(
            name=f"uvicorn ws={ws} + Starlette route, {'raw ASGI endpoint' if ep == 'asgi' else 'WebSocket class'}",
            module="server_uvicorn",
            args=("--ws", ws, "--endpoint", ep),
        )
        for ws in ("websockets-sansio", "websockets", "wsproto")
        for ep in ("asgi", "starlette")
    ),
    Candidate(
        name="picows + per-connection task (gateway_pattern.py; uvicorn REST on a 2nd port, same loop)",
        module="gateway_pattern",
    ),
    Candidate(name="same port: uvicorn REST + picows WS (protocol switch, same_port.py)", module="same_port"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    frames: int
    server_user_s: float
    server_sys_s: float
    elapsed_s: float
    client_cpu_s: float

    @property
    def server_cpu_s(self) -> float:
        return self.server_user_s + self.server_sys_s

    @property
    def us_per_frame(self) -> float:
        return self.server_cpu_s / self.frames * 1e6

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.elapsed_s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling a child process's port from a sync script, not a test
    raise TimeoutError(f"server did not listen on {port} within {timeout}s")


def one_run(
    candidate: Candidate, loop: str, frames: int, connections: int, window: int, batch_every: int
) -> Run:
    port = free_port()
    env = {**os.environ, BATCH_EVERY_ENV: str(batch_every)}
    server_cmd = [
        sys.executable,
        "-m",
        f"benchmarks.ws_layers.{candidate.module}",
        "--port",
        str(port),
        "--loop",
        loop,
        *candidate.args,
    ]
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env)
    try:
        os.sched_setaffinity(server.pid, {SERVER_CPU})
        wait_listening(port, server, timeout=15)
        cpu0 = process_cpu_seconds(server.pid)
        client = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.ws_layers.client",
                "--port",
                str(port),
                "--frames",
                str(frames),
                "--connections",
                str(connections),
                "--window",
                str(window),
                "--timeout",
                "55",
            ],
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=60,
        )
        cpu1 = process_cpu_seconds(server.pid)
        if client.returncode != 0:
            raise RuntimeError(f"client failed: {client.stderr.decode()[-2000:]}")
        result = json.loads(client.stdout)
        return Run(
            frames=int(result["frames"]),
            server_user_s=cpu1[0] - cpu0[0],
            server_sys_s=cpu1[1] - cpu0[1],
            elapsed_s=result["elapsed_s"],
            client_cpu_s=result["client_cpu_s"],
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--batch-every", type=int, default=BATCH_EVERY, help="one deliver frame per N inbound"
    )
    parser.add_argument("--only", default="", help="run candidates whose name contains this text")
    parser.add_argument("--out", type=Path, default=None, help="write the raw runs as JSON here")
    args = parser.parse_args()

    rows: list[dict[str, object]] = []
    print(
        f"loop={args.loop} frames={args.frames} connections={args.connections} window={args.window} "
        f"deliver frame every {args.batch_every} inbound frames; server on CPU {SERVER_CPU}, client on {CLIENT_CPU}"
    )
    print(
        "| candidate | µs server CPU / inbound frame | of which user / sys | frames/s | server busy "
        "| client busy | 3 runs (µs) |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for candidate in CANDIDATES:
        if args.only not in candidate.name:
            continue
        runs = [
            one_run(candidate, args.loop, args.frames, args.connections, args.window, args.batch_every)
            for _ in range(args.repeats)
        ]
        mid = sorted(runs, key=lambda r: r.us_per_frame)[len(runs) // 2]  # the median run
        user_us = mid.server_user_s / mid.frames * 1e6
        sys_us = mid.server_sys_s / mid.frames * 1e6
        fps = statistics.median(r.frames_per_s for r in runs)
        busy = statistics.median(r.server_cpu_s / r.elapsed_s for r in runs)
        client_busy = statistics.median(r.client_cpu_s / r.elapsed_s for r in runs)
        spread = " / ".join(f"{r.us_per_frame:.1f}" for r in runs)
        print(
            f"| {candidate.name} | {mid.us_per_frame:.1f} | {user_us:.1f} / {sys_us:.1f} | {fps:,.0f} "
            f"| {busy:.0%} | {client_busy:.0%} | {spread} |",
            flush=True,
        )
        rows.append(
            {
                "candidate": candidate.name,
                "loop": args.loop,
                "us_per_frame_median": mid.us_per_frame,
                "frames_per_s_median": fps,
                "runs": [asdict(r) for r in runs],
            }
        )
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
