"""Two (or more) real server nodes sharing one PostgreSQL schema and one Redis, in this process.

Each node is a full ``running_server`` with ``redis_url`` set, so its hub works in several-node mode
(pokes through Redis, mailboxes read from the shared database), exactly as separate processes would.
The schema is created for the test and dropped afterwards; the database URL names it with a
``search_path`` query parameter, which asyncpg passes to the server as a session setting.

Clients of the first node speak to its ASGI WebSocket gateway (uvicorn), clients of the second to its
fast one (picows), so that traffic between nodes also crosses the two WebSocket layers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from uvicorn.server import HANDLED_SIGNALS

from passerelle.server.runner import RunningServer, running_server
from tests.conftest import CodeInbox, make_settings
from tests.integration.wire import Wire

POSTGRES_URL = os.environ.get("PASSERELLE_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")

CLUSTER_CODE_KEY = "one-code-key-shared-by-every-node-of-the-cluster"


def with_query(url: str, **params: str) -> str:
    """The URL with these query parameters added."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query), *params.items()])))


@dataclass
class Node:
    """One server process of the cluster, and an HTTP client aimed at it."""

    name: str
    running: RunningServer
    http: httpx.AsyncClient
    ws_url: str
    """Where this node's clients open their WebSocket (one of the node's two gateways)."""
    redis_client_name: str
    """The name of this node's Redis connections (as CLIENT LIST shows them)."""
    _stack: contextlib.AsyncExitStack
    inbox: CodeInbox = field(default_factory=CodeInbox)
    """The phone that receives the one-time codes this node sends."""

    @property
    def url(self) -> str:
        return self.running.url

    async def stop(self) -> None:
        """Stop this node as an operator would (graceful shutdown); the others keep running."""
        await self._stack.aclose()


@dataclass
class Cluster:
    nodes: list[Node]
    wires: list[Wire] = field(default_factory=list)

    def on(self, node: Node, wire: Wire) -> Wire:
        """The wire client, aimed at ``node`` for its next connection (and closed after the test)."""
        wire.base_url = node.url
        wire.ws_url = node.ws_url
        if wire not in self.wires:
            self.wires.append(wire)
        return wire


@contextlib.asynccontextmanager
async def shared_schema(postgres_url: str = POSTGRES_URL, *, migrated: bool = True) -> AsyncIterator[str]:
    """A fresh schema in the test database (its database URL is returned), dropped afterwards;
    ``migrated``: the test's servers must have created their tables in it. Each step has a
    connection of its own (the fault tests restart PostgreSQL in between)."""
    schema = f"passerelle_nodes_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    try:
        yield with_query(postgres_url, search_path=schema)
    finally:
        admin = await asyncpg.connect(postgres_url)
        try:
            # The nodes really worked in the schema (so dropping it leaves nothing behind).
            worked = await admin.fetchval("SELECT to_regclass($1)", f'"{schema}".schema_migrations')
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await admin.close()
    assert not migrated or worked is not None


async def start_node(
    name: str,
    *,
    database_url: str,
    data_dir: Path,
    fast_ws: bool,
    redis_url: str = REDIS_URL,
    **overrides: Any,
) -> Node:
    client_name = f"passerelle-node-{name}-{secrets.token_hex(4)}"
    settings = make_settings(
        data_dir,
        code_key=CLUSTER_CODE_KEY,  # as in a real deployment: every node shares the code key
        database_url=database_url,
        redis_url=with_query(redis_url, client_name=client_name),
        **overrides,
    )
    stack = contextlib.AsyncExitStack()
    inbox = CodeInbox()
    try:
        running = await stack.enter_async_context(running_server(settings, code_sender=inbox))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=running.url, timeout=10.0))
    except BaseException:
        await stack.aclose()
        raise
    ws_url = running.fast_ws_url if fast_ws else running.ws_url
    assert ws_url is not None, "the fast WebSocket gateway is off in the test settings"
    return Node(name, running, http, ws_url, client_name, stack, inbox)


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path,
    names: tuple[str, ...] = ("A", "B"),
    *,
    postgres_url: str = POSTGRES_URL,
    redis_url: str = REDIS_URL,
    **overrides: Any,
) -> AsyncIterator[Cluster]:
    """Nodes started one after the other on one schema and one Redis; all stopped afterwards.
    Clients of every other node (the second, the fourth...) use its fast WebSocket gateway.
    ``overrides`` are settings every node gets (``limits=...``). By default the nodes use the
    test run's shared PostgreSQL and Redis; the fault tests give their own (tests/faults)."""
    if not (postgres_url and redis_url):
        pytest.skip("several nodes need PASSERELLE_TEST_POSTGRES_URL and PASSERELLE_TEST_REDIS_URL")
    # Each uvicorn server swaps the process's signal handlers and puts back what it found when it
    # stops; nodes stopping out of order would leave a stopped server's handler installed.
    handlers: dict[int, Callable[..., Any] | int | None] = {
        sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS
    }
    # The nodes share their rate limits in Redis with each other, not with other tests' nodes.
    overrides.setdefault("redis_key_prefix", f"passerelle:test-rl:{secrets.token_hex(6)}")
    async with shared_schema(postgres_url) as database_url:
        nodes: list[Node] = []
        found = Cluster(nodes)
        try:
            for index, name in enumerate(names):
                data_dir = tmp_path / f"node-{name}"
                data_dir.mkdir()
                node = await start_node(
                    name,
                    database_url=database_url,
                    data_dir=data_dir,
                    fast_ws=index % 2 == 1,
                    redis_url=redis_url,
                    **overrides,
                )
                nodes.append(node)
            yield found
        finally:
            try:
                for wire in found.wires:
                    await _close_quietly(wire)
            finally:
                for node in reversed(nodes):
                    await node.stop()
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)


async def _close_quietly(wire: Wire) -> None:
    """Close a client the test may have left in any state (a failed test too)."""
    if wire.reader is not None and wire.reader.cancelled():
        wire.reader = None
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            await wire.close()
