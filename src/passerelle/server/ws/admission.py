"""Who may hold a WebSocket open on this node: caps per client address, per account and in all.

A connection enters when it opens (before ``hello``: an idle socket counts against its address) and
leaves when it ends; it joins its account at ``welcome``. The caps per address and per node are
this node's own, since what they protect (sockets, file descriptors, memory) is this node's. The cap
per account is an account's, whatever the number of nodes: with several nodes (``slots``, in Redis)
its connections are counted across all of them, each node keeping its live connections' slots alive
(``run``) so that a dead node's stop counting after the slots' time to live. A refused connection
gets an ``error`` frame and is closed: 4008 for an address or account over its cap, 1013 when the
node is full. Other addresses and accounts are unaffected.

When Redis does not answer, the account cap falls back to this node's count (fail open, logged and
counted in ``passerelle_connection_cap_unshared_total``): the cap shares sockets fairly between
accounts, it guards no secret, and every node still bounds each account by its own count; refusing
every ``hello`` for a Redis outage would take all clients offline for the sake of a fairness limit.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import secrets
import time

from prometheus_client import Counter, Gauge

from passerelle.domain.errors import RateLimited, Unavailable
from passerelle.domain.ids import AccountId
from passerelle.server.ws.connection import Connection
from passerelle.service.ports import ConnectionSlots

log = logging.getLogger("passerelle.admission")

RETRY_AFTER_S = 5.0
"""What a refused client is told to wait before trying again."""
FD_HEADROOM = 256
"""File descriptors kept for what is not a WebSocket: the database, Redis, REST requests, logs."""
WARN_EVERY_S = 60.0
"""At most one warning this often while the shared connection count does not answer."""
RELEASE_TIMEOUT_S = 2.0


def fd_limit_warning(max_connections: int) -> str | None:
    """A warning when ``max_connections`` does not fit under this process's open-file limit (the
    node would then fail on accept() before the cap refuses anyone cleanly)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or max_connections + FD_HEADROOM <= soft:
        return None
    return (
        f"max_connections is {max_connections} but this process may open {soft} files: "
        f"raise the limit (ulimit -n) or lower max_connections to {max(1, soft - FD_HEADROOM)}"
    )


class Admission:
    def __init__(
        self,
        *,
        per_client: int,
        per_account: int,
        total: int,
        gauge: Gauge | None = None,
        slots: ConnectionSlots | None = None,
        refresh_s: float = 10.0,
        unshared: Counter | None = None,
    ) -> None:
        if min(per_client, per_account, total) < 1:
            raise ValueError("connection caps must be positive")
        self._per_client = per_client
        self._per_account = per_account
        self._total = total
        self._clients: dict[str, int] = {}
        self._accounts: dict[AccountId, set[Connection]] = {}
        self.open = 0
        """WebSockets open on this node (authenticated or not)."""
        self._gauge = gauge
        self.slots = slots
        """The account cap's count across nodes (Redis); None: this node is the only one."""
        self._refresh_s = refresh_s
        self._holders: dict[Connection, str] = {}
        """Each connection's name in its account's slots (the slot it holds)."""
        self._releasing: set[asyncio.Task[None]] = set()
        self._unshared = unshared
        self._warned_at = -WARN_EVERY_S

    def of_client(self, client: str) -> int:
        return self._clients.get(client, 0)

    def enter(self, conn: Connection) -> None:
        """Count a new connection in; raise (and count nothing) when a cap is reached."""
        if self.open >= self._total:
            raise Unavailable("this server is full; try again later")
        held = self._clients.get(conn.client, 0)
        if held >= self._per_client:
            raise RateLimited("too many connections from this address", retry_after_s=RETRY_AFTER_S)
        self._clients[conn.client] = held + 1
        self.open += 1
        if self._gauge is not None:
            self._gauge.inc()

    def leave(self, conn: Connection) -> None:
        """Count a connection that ``enter`` let in out again (once, when it ends)."""
        self.leave_account(conn)
        held = self._clients.get(conn.client, 0) - 1
        if held > 0:
            self._clients[conn.client] = held
        else:
            self._clients.pop(conn.client, None)
        self.open -= 1
        if self._gauge is not None:
            self._gauge.dec()

    async def join_account(self, conn: Connection, account: AccountId) -> None:
        """At hello: raise RateLimited when the account holds its cap of other live connections (a
        connection of the same device does not count: it is about to be replaced), on this node
        or, with shared slots, on all of them."""
        conns = self._accounts.get(account, ())
        others = sum(1 for c in conns if c.device != conn.device and c.close_code is None)
        if others >= self._per_account:
            raise RateLimited("too many connections for this account", retry_after_s=RETRY_AFTER_S)
        if self.slots is not None and conn.device is not None:
            holder = secrets.token_hex(8)
            try:
                claimed = await self.slots.claim(account, conn.device, holder, cap=self._per_account)
            except Unavailable:
                self._fell_back("counting a hello")
                claimed = True
            if not claimed:
                raise RateLimited("too many connections for this account", retry_after_s=RETRY_AFTER_S)
            self._holders[conn] = holder
        # (Looked up again: the account's set may have gone while the claim was waiting on Redis.)
        self._accounts.setdefault(account, set()).add(conn)

    def leave_account(self, conn: Connection) -> None:
        account = conn.account
        if account is None:
            return
        conns = self._accounts.get(account)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._accounts[account]
        holder = self._holders.pop(conn, None)
        if holder is not None and conn.device is not None:
            task = asyncio.create_task(self._release(account, conn.device, holder), name="release-slot")
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _release(self, account: AccountId, device: str, holder: str) -> None:
        assert self.slots is not None
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                await self.slots.release(account, device, holder)
        except Exception:  # Unavailable, a timeout, a client closed at shutdown: the slot expires
            self._fell_back("freeing a closed connection's slot (it expires on its own)")

    async def run(self) -> None:
        """Keep this node's live connections' slots alive (several nodes). Owned by the lifespan."""
        if self.slots is None:
            return
        while True:
            await asyncio.sleep(self._refresh_s)
            held = {
                account: [
                    (c.device, h) for c in conns if c.device is not None and (h := self._holders.get(c))
                ]
                for account, conns in self._accounts.items()
            }
            try:
                await self.slots.refresh({a: s for a, s in held.items() if s})
            except Unavailable:
                self._fell_back("refreshing this node's slots")
            except Exception:  # never let the refresh stop: the slots would expire under live sockets
                log.exception("refreshing this node's connection slots failed")

    def _fell_back(self, doing: str) -> None:
        """Redis did not answer: the account cap is this node's count until it does."""
        if self._unshared is not None:
            self._unshared.inc()
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "the shared connection count (Redis) did not answer when %s: "
                "the account cap counts this node's connections only until it does",
                doing,
            )
