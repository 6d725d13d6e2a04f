"""Who may hold a WebSocket open on this node: caps per client address, per account and in all.

A connection enters when it opens (before ``hello``: an idle socket counts against its address) and
leaves when it ends; it joins its account at ``welcome``. The counts are this node's own, since what
they protect (sockets, file descriptors, memory) is this node's. A refused connection gets an
``error`` frame and is closed: 4008 for an address or account over its cap, 1013 when the node is
full. Other addresses and accounts are unaffected.
"""

from __future__ import annotations

import resource

from prometheus_client import Gauge

from passerelle.domain.errors import RateLimited, Unavailable
from passerelle.domain.ids import AccountId
from passerelle.server.ws.connection import Connection

RETRY_AFTER_S = 5.0
"""What a refused client is told to wait before trying again."""
FD_HEADROOM = 256
"""File descriptors kept for what is not a WebSocket: the database, Redis, REST requests, logs."""


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
    def __init__(self, *, per_client: int, per_account: int, total: int, gauge: Gauge | None = None) -> None:
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

    def join_account(self, conn: Connection, account: AccountId) -> None:
        """At hello: raise RateLimited when the account holds its cap of other live connections (a
        connection of the same device does not count: it is about to be replaced)."""
        conns = self._accounts.setdefault(account, set())
        others = sum(1 for c in conns if c.device != conn.device and c.close_code is None)
        if others >= self._per_account:
            raise RateLimited("too many connections for this account", retry_after_s=RETRY_AFTER_S)
        conns.add(conn)

    def leave_account(self, conn: Connection) -> None:
        account = conn.account
        if account is None:
            return
        conns = self._accounts.get(account)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._accounts[account]
