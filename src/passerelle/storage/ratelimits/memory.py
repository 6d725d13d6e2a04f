"""Rate-limit buckets in this process's memory: the RateLimits port for one node.

One table per rule, each holding at most ``max_keys`` buckets. A new key in a full table first
forgets the least recently used bucket if it has refilled (forgetting a full bucket changes
nothing); when that bucket is still in force, the new key is refused until it refills. So a flood
of invented keys can neither push out a limit in force nor touch another rule's table: at worst it
makes that one rule refuse newcomers for a while (fail safe).
"""

from __future__ import annotations

from collections import OrderedDict

from passerelle.domain.ratelimit import TokenBucket
from passerelle.service.ports import Clock


class MemoryRateLimits:
    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self._clock = clock
        self._max_keys = max_keys
        self._tables: dict[str, OrderedDict[str, TokenBucket]] = {}

    def size(self, rule: str) -> int:
        """Buckets held for this rule."""
        table = self._tables.get(rule)
        return len(table) if table is not None else 0

    async def take(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1.0) -> float:
        now = self._clock.monotonic()
        table = self._tables.get(rule)
        if table is None:
            table = self._tables[rule] = OrderedDict()
        bucket = table.get(key)
        if bucket is None:
            if cost <= 0:
                return 0.0  # a peek at a key never seen: a full bucket, which need not be kept
            if len(table) >= self._max_keys:
                oldest = next(iter(table.values()))
                wait = oldest.full_in(now)
                if wait > 0:
                    return wait  # every bucket of this rule may be in force: refuse the newcomer
                table.popitem(last=False)
            bucket = table[key] = TokenBucket.full(rate=rate, burst=burst, now=now)
        else:
            table.move_to_end(key)
            # The rule's numbers come from the caller each time, so a changed limit applies at once.
            bucket.rate, bucket.burst = rate, burst
        return bucket.take(now, cost)

    async def close(self) -> None:
        self._tables.clear()
