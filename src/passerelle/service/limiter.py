"""Rate limiting for the use cases: named rules over the RateLimits port, RateLimited on refusal.

Which buckets exist and how they are kept is the adapter's business (one bounded table per rule, in
this process or shared through Redis: ``passerelle.storage.ratelimits``); the numbers of each rule
come from the injected ``Limits``. Keys that a client can vary freely (a claimed name, a phone
number) are always checked after a key it cannot (its address, its device), so a flood of invented
keys is stopped by the first rule before it can fill the second one's table.
"""

from __future__ import annotations

import ipaddress
from typing import NewType

from passerelle.domain.errors import RateLimited
from passerelle.service.ports import RateLimits

ClientKey = NewType("ClientKey", str)
"""Who is asking, for rate limits: the peer's address as the edge sees it (see ``client_key_of``)."""


def client_key_of(host: str | None) -> ClientKey:
    """The rate-limit key of a peer address. An IPv6 client gets its /64: one subscriber usually
    holds a whole /64 and could otherwise present a fresh address for every request."""
    if not host:
        return ClientKey("unknown")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ClientKey(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return ClientKey(str(address.ipv4_mapped))
        return ClientKey(str(ipaddress.IPv6Network((address, 64), strict=False)))
    return ClientKey(str(address))


class RateLimiter:
    """Named limits over the RateLimits port; every check may wait on shared state, so it is async."""

    def __init__(self, buckets: RateLimits) -> None:
        self._buckets = buckets

    async def check(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1) -> None:
        """Spend ``cost`` tokens of the (rule, key) bucket.

        Args:
            rule: the limit's name ("login:client", "lookup:device", ...): one table per name.
            key: whom it applies to (a client address, a device id, ...).
            rate: tokens added per second.
            burst: the bucket's size (and a new bucket's content).
            cost: tokens this request takes.

        Raises:
            RateLimited: the bucket holds fewer than ``cost`` tokens (or the rule's table is full of
                limits in force); ``retry_after_s`` says when to try again.
            Unavailable: the shared limits (Redis) do not answer.
        """
        wait = await self._buckets.take(rule, key, rate=rate, burst=burst, cost=cost)
        if wait > 0:
            raise RateLimited(retry_after_s=wait)

    async def check_window(self, rule: str, key: str, *, count: int, window_s: float) -> None:
        """``count`` requests per ``window_s`` seconds, all of them allowed at once."""
        await self.check(rule, key, rate=count / window_s, burst=count)

    async def check_open(self, rule: str, key: str, *, count: int, window_s: float) -> None:
        """Raise RateLimited when the (rule, key) window is used up; spend nothing, create nothing.

        For limits charged only on failure (a wrong token): asked before the work, charged after."""
        wait = await self._buckets.take(rule, key, rate=count / window_s, burst=count, cost=0)
        if wait > 0:
            raise RateLimited(retry_after_s=wait)
