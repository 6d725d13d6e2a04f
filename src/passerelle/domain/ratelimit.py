"""Token buckets, pure: the caller passes the time in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second up to ``burst``; ``take`` says whether a request may go ahead."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, *, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, stamp=now)

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; return 0 when allowed, else the seconds to wait before a retry.

        A ``cost`` of 0 takes nothing and only asks whether one token is there (a peek)."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = max(self.stamp, now)
        need = cost if cost > 0 else 1.0
        if self.tokens >= need:
            self.tokens -= cost
            return 0.0
        return (need - self.tokens) / self.rate if self.rate > 0 else float("inf")

    def full_in(self, now: float) -> float:
        """Seconds until the bucket is full again: from then on, forgetting it changes nothing."""
        elapsed = max(0.0, now - self.stamp)
        missing = self.burst - min(self.burst, self.tokens + elapsed * self.rate)
        if missing <= 0:
            return 0.0
        return missing / self.rate if self.rate > 0 else float("inf")
