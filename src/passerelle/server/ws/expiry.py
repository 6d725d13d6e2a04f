"""Closing connections whose token is no longer good: a token is checked at ``hello``, and an open
WebSocket must not outlive it.

- Expiry needs no message: each node watches its own connections. Each round closes, with an
  ``error`` frame and 4001, every connection whose token's expiry has passed by the clock, then
  sleeps until the next expiry, at least ``MIN_PAUSE_S`` and at most ``interval_s`` (so a clock
  that jumps is noticed that late at worst). One round costs one pass over the node's connections.
- Revocation (a removed device, an erased account: their tokens are deleted) is pushed through the
  broker to whichever node holds the connection, which closes it with 4001 (``Hub.on_broker_event``).
  The broker delivers at most once: a node that lost its Redis connection may have missed a
  revocation, so when it resubscribes (``DeviceNews(all_devices=True)``) every connection's token is
  looked up again and the revoked ones are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Protocol

from passerelle.domain.ids import DeviceId, Timestamp
from passerelle.proto.codec import encode
from passerelle.proto.frames import Error
from passerelle.server.errors import CLOSE_UNAUTHORIZED
from passerelle.server.ws.connection import Connection
from passerelle.service.ports import BrokerEvent, BrokerHandler, Clock, DeviceNews
from passerelle.service.records import TokenRecord

MIN_PAUSE_S = 0.5
"""At most this late after the expiry, and at most two rounds a second."""

EXPIRED = encode(Error(code="unauthorized", message="the token expired; log in again"))
REVOKED = encode(Error(code="unauthorized", message="the token was revoked"))


class TokenLookup(Protocol):
    """The part of the TokenStore port this needs."""

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None: ...


class TokenExpiry:
    def __init__(
        self,
        connections: Mapping[DeviceId, Connection],
        clock: Clock,
        *,
        tokens: TokenLookup,
        broker_events: BrokerHandler,
        interval_s: float,
    ) -> None:
        self._connections = connections
        self._clock = clock
        self._tokens = tokens
        self._broker_events = broker_events
        self._interval_s = interval_s
        self._recheck = asyncio.Event()

    async def on_broker_event(self, event: BrokerEvent) -> None:
        """The node's broker handler: the hub's, and a token recheck after events may have been lost."""
        await self._broker_events(event)
        if isinstance(event, DeviceNews) and event.all_devices:
            self._recheck.set()

    async def close_revoked(self) -> int:
        """Look every connection's token up again; close those no longer good. How many closed."""
        closed = 0
        for conn in list(self._connections.values()):
            if conn.close_code is None and conn.token_hash:
                if await self._tokens.resolve_token(conn.token_hash, now=self._clock.now_ms()) is None:
                    conn.push(REVOKED)
                    conn.close(CLOSE_UNAUTHORIZED, "token revoked")
                    closed += 1
        return closed

    def close_expired(self) -> float:
        """Close the connections whose token expired; the seconds until the next one expires."""
        now = self._clock.now_ms()
        soonest = float("inf")
        for conn in list(self._connections.values()):
            if conn.expires_at <= now:
                if conn.close_code is None:
                    conn.push(EXPIRED)
                    conn.close(CLOSE_UNAUTHORIZED, "token expired")
            elif conn.expires_at < soonest:
                soonest = conn.expires_at
        return (soonest - now) / 1000

    async def run(self) -> None:
        """Owned by the lifespan; runs until cancelled."""
        while True:
            if self._recheck.is_set():
                self._recheck.clear()
                await self.close_revoked()
            wait = self.close_expired()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self._interval_s, max(MIN_PAUSE_S, wait))):
                    await self._recheck.wait()
