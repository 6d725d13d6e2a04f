"""Three ``passerelle serve`` processes behind HAProxy: the deployment of docs/operations.md in small.

``three_nodes(tmp_path)`` starts, on reserved ports (tests/ports.py), N real server processes on one fresh PostgreSQL
schema and one Redis (their own rate-limit prefix), then Debian's ``haproxy`` in front of them with
a configuration written from ``deploy/haproxy.cfg``'s shape: WebSocket upgrades, health checks on
``/readyz``, retries of failed connections on another node. Clients speak to ``cluster.url`` (the
load balancer); a test may reach one node directly (``node.url``), kill it with SIGKILL
(``node.kill()``) or start it again (``node.start()``). HAProxy's runtime socket tells which nodes
it sees up (``cluster.lb.up()``).

Nodes print one-time codes on their console (``code_sender = "console"``): ``cluster.code_for``
finds a code whichever node sent it. Everything is stopped and the schema dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.terminals import WAIT_S, Proc
from tests.integration.cluster import CLUSTER_CODE_KEY, POSTGRES_URL, REDIS_URL, shared_schema
from tests.ports import reserved_ports

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)

CHECK_INTERVAL_MS = 200
"""How often HAProxy asks each node's /readyz in the tests (deploy/haproxy.cfg: 2 s)."""


def haproxy_config(
    *,
    port: int,
    nodes: Iterable[tuple[str, int, int | None]],
    stats_socket: Path,
    fast_port: int | None = None,
) -> str:
    """The test's HAProxy configuration: deploy/haproxy.cfg with free ports and quick health checks.
    ``nodes``: (name, HTTP port, fast WebSocket port or None); with ``fast_port``, a second frontend
    balances the nodes' fast (picows) gateways, checked on their HTTP port's /readyz."""
    nodes = list(nodes)
    servers = "\n".join(f"    server {name} 127.0.0.1:{node_port} check" for name, node_port, _ in nodes)
    fast = ""
    if fast_port is not None:
        fast_servers = "\n".join(
            f"    server {name} 127.0.0.1:{ws} check port {node_port}" for name, node_port, ws in nodes
        )
        fast = f"""
frontend passerelle_fast
    bind 127.0.0.1:{fast_port}
    default_backend fast_nodes

backend fast_nodes
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS} fall 2 rise 1
{fast_servers}
"""
    return f"""\
global
    maxconn 4000
    stats socket {stats_socket} mode 600 level admin

defaults
    mode http
    option forwardfor
    option redispatch
    retries 3
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout client-fin 5s

frontend passerelle
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS} fall 2 rise 1
{servers}
{fast}"""


@dataclass
class ServeNode:
    """One ``passerelle serve`` process of the cluster (started again on the same port and data)."""

    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    args: tuple[str, ...] = ()
    """More ``passerelle serve`` arguments (``--config FILE``)."""
    ws_port: int | None = None
    """The fast (picows) gateway's port, when it is on."""
    proc: Proc | None = None
    past: list[Proc] = field(default_factory=list)
    """Earlier processes of this node (killed or stopped): their output is kept for ``code_for``."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        args: tuple[str, ...] = ("serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1")
        args = (*args, "--port", str(self.port))
        if self.ws_port is not None:
            args = (*args, "--ws-port", str(self.ws_port))
        self.proc = await Proc.start(f"node {self.name}", *args, *self.args, env=self.env)
        await self.proc.line("passerelle is ready")
        async with httpx.AsyncClient() as http, asyncio.timeout(WAIT_S):
            while True:  # the app is ready; uvicorn binds the port just after
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    await asyncio.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: the process dies at once, finishing nothing (a crash, a lost machine)."""
        proc = self._take()
        proc.process.send_signal(signal.SIGKILL)
        await proc.exit_status()

    async def stop(self) -> None:
        """SIGTERM: the graceful shutdown an operator does."""
        if self.proc is not None:
            await self._take().stop()

    def _take(self) -> Proc:
        assert self.proc is not None, f"node {self.name} is not running"
        proc, self.proc = self.proc, None
        self.past.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join(p.output() for p in [*self.past, *([self.proc] if self.proc else [])])

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"node {self.name} is not running"
        return self.proc.process.pid


@dataclass
class Balancer:
    port: int
    config: Path
    stats_socket: Path
    fast_port: int | None = None
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fast_ws_url(self) -> str:
        """The WebSocket URL of the nodes' fast gateways, through the balancer."""
        assert self.fast_port is not None, "three_nodes(fast=True) balances the fast gateways"
        return f"ws://127.0.0.1:{self.fast_port}/v1/ws"

    async def start(self) -> None:
        assert HAPROXY is not None
        process = await asyncio.create_subprocess_exec(
            HAPROXY,
            "-db",  # foreground, no daemon
            "-f",
            str(self.config),
            stdin=asyncio.subprocess.PIPE,  # (Proc closes it when the process is stopped)
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.proc = Proc("haproxy", process)
        async with httpx.AsyncClient() as http, asyncio.timeout(WAIT_S):
            while True:
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if process.returncode is not None:
                    raise AssertionError(f"haproxy did not start:\n{self.proc.output()}")
                await asyncio.sleep(0.05)

    async def command(self, line: str) -> str:
        """One command on HAProxy's runtime socket; its answer."""
        reader, writer = await asyncio.open_unix_connection(str(self.stats_socket))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.read()).decode()
        finally:
            writer.close()

    async def up(self) -> set[str]:
        """The nodes HAProxy sends new connections to (its health checks passed)."""
        answer = await self.command("show stat")
        found = set()
        for row in answer.splitlines():
            cols = row.split(",")
            if len(cols) > 17 and cols[0] == "nodes" and cols[1] not in ("BACKEND", "FRONTEND"):
                if cols[17].startswith("UP"):
                    found.add(cols[1])
        return found

    async def wait_up(self, names: set[str]) -> None:
        async with asyncio.timeout(WAIT_S):
            while True:
                if await self.up() == names:
                    return
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.process.returncode is None:
            self.proc.process.terminate()
            with contextlib.suppress(ProcessLookupError):
                await self.proc.exit_status()


@dataclass
class ProcessCluster:
    nodes: list[ServeNode]
    lb: Balancer
    database_url: str
    redis_key_prefix: str

    @property
    def url(self) -> str:
        """Where clients connect: the load balancer."""
        return self.lb.url

    def node(self, name: str) -> ServeNode:
        return next(n for n in self.nodes if n.name == name)

    async def code_for(self, app: str, phone: str) -> str:
        """The last one-time code any node printed for this phone number."""
        wanted = f"code for {app}:{phone}:"
        async with asyncio.timeout(WAIT_S):
            while True:
                lines = [line for n in self.nodes for line in n.output().splitlines() if wanted in line]
                if lines:
                    return lines[-1].rsplit(" ", 1)[1]
                await asyncio.sleep(0.05)


def needs_cluster() -> None:
    if not (POSTGRES_URL and REDIS_URL):
        pytest.skip("three nodes need PASSERELLE_TEST_POSTGRES_URL and PASSERELLE_TEST_REDIS_URL")
    if HAPROXY is None:
        pytest.skip("no haproxy (python3 dev.py setup installs it; or: apt-get install -y haproxy)")


@contextlib.asynccontextmanager
async def three_nodes(
    tmp_path: Path,
    names: tuple[str, ...] = ("A", "B", "C"),
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    *,
    fast: bool = False,
) -> AsyncIterator[ProcessCluster]:
    """The nodes (``PASSERELLE_*`` settings in ``env`` and ``serve`` arguments in ``args`` apply
    to each) and HAProxy, all started; all stopped afterwards (SIGKILL for whatever a test left
    running: nothing more to check). ``fast``: the nodes also run their fast WebSocket gateway,
    balanced by HAProxy on a port of its own (``cluster.lb.fast_ws_url``)."""
    needs_cluster()
    prefix = f"passerelle:test-lb:{secrets.token_hex(6)}"
    async with shared_schema() as database_url:
        base = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
        base |= {
            "PYTHONIOENCODING": "utf-8",
            "HOME": str(tmp_path),
            "PASSERELLE_DATABASE_URL": database_url,
            "PASSERELLE_REDIS_URL": REDIS_URL,
            "PASSERELLE_REDIS_KEY_PREFIX": prefix,
            "PASSERELLE_CODE_KEY": CLUSTER_CODE_KEY,
            "PASSERELLE_CODE_SENDER": "console",
            "PASSERELLE_SHUTDOWN_GRACE_S": "0.5",
            "PASSERELLE_SHUTDOWN_TIMEOUT_S": "5",
            **(env or {}),
        }
        ports = reserved_ports(2 * len(names) + 2)
        nodes = [
            ServeNode(
                name, ports[2 * i], tmp_path / f"node-{name}", base, args, ports[2 * i + 1] if fast else None
            )
            for i, name in enumerate(names)
        ]
        lb_port, fast_port = ports[-2], (ports[-1] if fast else None)
        config = tmp_path / "haproxy.cfg"
        socket_path = tmp_path / "haproxy.sock"
        config.write_text(
            haproxy_config(
                port=lb_port,
                nodes=[(n.name, n.port, n.ws_port) for n in nodes],
                stats_socket=socket_path,
                fast_port=fast_port,
            )
        )
        lb = Balancer(lb_port, config, socket_path, fast_port)
        found = ProcessCluster(nodes, lb, database_url, prefix)
        try:
            # The first node migrates the schema; the others then start together.
            await nodes[0].start()
            await asyncio.gather(*(n.start() for n in nodes[1:]))
            await lb.start()
            await lb.wait_up({n.name for n in nodes})
            yield found
        finally:
            await lb.stop()
            for node in nodes:
                if node.alive:
                    await node.kill()
