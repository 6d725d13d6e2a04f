"""The server under test: ``python -m passerelle serve`` in a process of its own, so that its CPU
time and memory can be read from /proc without counting the load generator's.

Each run gets a temporary directory (SQLite database, configuration, the server's log) that is
removed afterwards. The configuration declares one handle app and lifts the per-device send rate,
the per-address login limit and the connection caps (every client connects from loopback), which
would otherwise cap the load (they are policy, not capacity). Scenario (d) adds two phone apps'
accounts, whose codes it receives itself (``extra_config``: a code gateway URL, and no limit on
code requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import httpx

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.options import BenchOptions


class CodeGatewayLike(Protocol):
    def config(self) -> str: ...


BENCH_APP = "photo"
CONFIG = f"""\
[apps.{BENCH_APP}]
display_name = "Bench"
identity = "handle"
findability = "everyone"
retention_days = 30

[apps.chat]
display_name = "Bench chat"
identity = "phone"
findability = "everyone"
retention_days = 30

[apps.social]
display_name = "Bench social"
identity = "phone"
findability = "everyone"
retention_days = 30

[limits]
logins_per_window = 1000000
sends_per_second = 1000000.0
send_burst = 1000000
max_connections_per_client = 1000000
max_connections = 1000000
hellos_per_device_per_second = 1000000.0
hello_burst = 1000000
"""
KEPT_SETTINGS = frozenset({"PASSERELLE_SQLITE_SYNCHRONOUS", "PASSERELLE_LOG_LEVEL"})
"""The only PASSERELLE_* variables passed to the server: the others (a database URL, a Redis URL,
a data directory) could point the bench at real data."""
STOP_TIMEOUT_S = 10.0
SERVER_COMMAND: tuple[str, ...] = ("-m", "passerelle", "serve")
"""After the interpreter; a profiling session may prepend e.g. ``-m cProfile -o <file>``."""


@dataclass(frozen=True, slots=True)
class ServerHandle:
    url: str
    ws_url: str
    pid: int
    data_dir: Path | None = None
    """The server's data directory (its SQLite database), in the run's temporary directory."""


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_") or k in KEPT_SETTINGS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _prepare(root: Path, extra_config: str) -> tuple[Path, IO[bytes]]:
    config = root / "bench.toml"
    config.write_text(CONFIG + extra_config, encoding="utf-8")
    return config, (root / "server.log").open("wb")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


@contextlib.asynccontextmanager
async def spawned_server(
    *,
    start_timeout_s: float = 30.0,
    extra_args: Sequence[str] = (),
    gateway: str = "picows",
    extra_config: str = "",
    host: str = "127.0.0.1",
    port: int | None = None,
) -> AsyncIterator[ServerHandle]:
    """Start a server on ``host`` and ``port`` (its picows gateway on ``port + 1``; free ports when
    ``port`` is None), wait until /readyz answers 200, and stop it (SIGTERM, then SIGKILL) on the
    way out. Raises BenchError with the server's log when it does not become ready in time."""
    root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="passerelle-bench-"))
    log_file: IO[bytes] | None = None
    proc: asyncio.subprocess.Process | None = None
    try:
        config, log_file = await asyncio.to_thread(_prepare, root, extra_config)
        if port is None:
            port = free_port(host)
            ws_port = free_port(host) if gateway == "picows" else port
        else:
            ws_port = port + 1 if gateway == "picows" else port
        if gateway == "picows":
            extra_args = (*extra_args, "--ws-port", str(ws_port))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *(*SERVER_COMMAND, "--config", str(config), "--data-dir", str(root / "data")),
            *("--host", host, "--port", str(port), *extra_args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=server_env(),
            start_new_session=True,
        )
        where = f"[{host}]" if ":" in host else host
        url = f"http://{where}:{port}"
        await _wait_ready(proc, url, start_timeout_s, root / "server.log")
        yield ServerHandle(
            url=url, ws_url=f"ws://{where}:{ws_port}/v1/ws", pid=proc.pid, data_dir=root / "data"
        )
    finally:
        if proc is not None:
            await _stop(proc)
        if log_file is not None:
            await asyncio.to_thread(log_file.close)
        await asyncio.to_thread(shutil.rmtree, root, True)


async def _wait_ready(proc: asyncio.subprocess.Process, url: str, timeout_s: float, log: Path) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if proc.returncode is not None:
                        tail = await asyncio.to_thread(_tail, log)
                        raise BenchError(
                            f"the server exited with status {proc.returncode} while starting; "
                            f"its log ends with:\n{tail}"
                        )
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            return
                    await asyncio.sleep(0.05)
        except TimeoutError:
            tail = await asyncio.to_thread(_tail, log)
            raise BenchError(
                f"the server did not answer {url}/readyz within {timeout_s:g} s; its log ends with:\n{tail}"
            ) from None


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    except BaseException:
        # Cancelled while waiting: the child must not outlive the bench.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise


def bench_server(
    options: BenchOptions, codes: CodeGatewayLike
) -> contextlib.AbstractAsyncContextManager[ServerHandle]:
    """The server of one scenario, as ``options`` want it, posting its one-time codes to ``codes``."""
    return spawned_server(
        start_timeout_s=options.start_timeout_s,
        gateway=options.gateway,
        extra_config=codes.config(),
        host=options.host,
        port=options.port,
    )


async def commit_figures(url: str) -> dict[str, float]:
    """Mean messages per group commit and mean time per commit (ms) over the server's life, and the
    transactions that only deleted acknowledged items, from its Prometheus metrics; empty when they
    cannot be read."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
            text = (await http.get("/metrics")).text
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("passerelle_commit_"):
            values[parts[0]] = float(parts[1])
    out: dict[str, float] = {}
    commits = values.get("passerelle_commit_batch_size_count", 0.0)
    if commits:
        out["commits"] = commits
        out["commit_batch_mean"] = values.get("passerelle_commit_batch_size_sum", 0.0) / commits
    timed = values.get("passerelle_commit_seconds_count", 0.0)
    if timed:
        out["commit_ms_mean"] = values.get("passerelle_commit_seconds_sum", 0.0) / timed * 1000
    ack_commits = values.get("passerelle_commit_acks_only_total")
    if ack_commits is not None:
        out["ack_commits"] = ack_commits
    return out
