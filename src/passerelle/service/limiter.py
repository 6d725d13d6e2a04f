"""Rate limiting: token buckets keyed by (rule, key), in this process's memory.

The state is per process: with several nodes, each node enforces the limits on its own, so a client
spread over N nodes may get up to N times the budget. Memory is bounded: past ``max_keys`` buckets
the least recently used one is forgotten (which only ever makes a limit more lenient).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NewType

from passerelle.domain.errors import RateLimited
from passerelle.domain.ratelimit import TokenBucket
from passerelle.service.ports import Clock

ClientKey = NewType("ClientKey", str)
"""Who is asking, for rate limits: the peer's address as the edge sees it."""


class RateLimiter:
    """Token buckets keyed by (rule name, key), least recently used evicted past ``max_keys``."""

    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1) -> None:
        """Spend ``cost`` tokens of the (rule, key) bucket.

        Args:
            rule: the limit's name ("login:client", "lookup:device", ...).
            key: whom it applies to (a client address, a device id, ...).
            rate: tokens added per second.
            burst: the bucket's size (and a new bucket's content).
            cost: tokens this request takes.

        Raises:
            RateLimited: the bucket holds fewer than ``cost`` tokens; ``retry_after_s`` says when it will.
        """
        now = self._clock.monotonic()
        slot = (rule, key)
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = TokenBucket.full(rate=rate, burst=burst, now=now)
            self._buckets[slot] = bucket
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(slot)
            # The rule's numbers come from the caller each time, so a changed limit applies at once.
            bucket.rate, bucket.burst = rate, burst
        wait = bucket.take(now, cost)
        if wait > 0:
            raise RateLimited(retry_after_s=wait)

    def check_window(self, rule: str, key: str, *, count: int, window_s: float) -> None:
        """``count`` requests per ``window_s`` seconds, all of them allowed at once."""
        self.check(rule, key, rate=count / window_s, burst=count)
