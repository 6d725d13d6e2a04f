"""Which RateLimits adapter a deployment uses: shared through Redis when one is configured (several
nodes), else this process's memory."""

from __future__ import annotations

from passerelle.service.ports import Clock
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.ratelimits.redis import PREFIX, RedisRateLimits


def open_rate_limits(
    redis_url: str, clock: Clock, *, max_keys: int, prefix: str = PREFIX
) -> MemoryRateLimits | RedisRateLimits:
    """Nothing is opened yet: the Redis client connects on first use; ``close`` it at shutdown."""
    if not redis_url or redis_url == "local":
        return MemoryRateLimits(clock, max_keys=max_keys)
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRateLimits(redis_url, clock, max_keys=max_keys, prefix=prefix)
    raise ValueError(f"unsupported Redis URL {redis_url!r}")
