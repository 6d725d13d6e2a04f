"""Closing connections whose token expired: a token is checked at ``hello``, and an open WebSocket
must not outlive it. Revocation (a removed device, an erased account) is pushed through the broker
to whichever node holds the connection (``Hub.on_broker_event``); expiry needs no message, each node
watches its own connections.

Each round closes, with an ``error`` frame and 4001, every connection whose token's expiry has
passed by the clock, then sleeps until the next expiry, at least ``MIN_PAUSE_S`` and at most
``interval_s`` (so a clock that jumps is noticed that late at worst). One round costs one pass over
the node's connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from passerelle.domain.ids import DeviceId
from passerelle.proto.codec import encode
from passerelle.proto.frames import Error
from passerelle.server.connection import Connection
from passerelle.server.errors import CLOSE_UNAUTHORIZED
from passerelle.service.ports import Clock

MIN_PAUSE_S = 0.5
"""At most this late after the expiry, and at most two rounds a second."""

EXPIRED = encode(Error(code="unauthorized", message="the token expired; log in again"))


class TokenExpiry:
    def __init__(
        self, connections: Mapping[DeviceId, Connection], clock: Clock, *, interval_s: float
    ) -> None:
        self._connections = connections
        self._clock = clock
        self._interval_s = interval_s

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
            wait = self.close_expired()
            await asyncio.sleep(min(self._interval_s, max(MIN_PAUSE_S, wait)))
