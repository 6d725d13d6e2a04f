"""Which RateLimits and ConnectionSlots adapters a deployment uses: shared through Redis when one is
configured (several nodes), else this process's memory."""

from __future__ import annotations

from passerelle.service.ports import Clock
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.ratelimits.redis import PREFIX, RedisRateLimits
from passerelle.storage.ratelimits.slots import RedisConnectionSlots


def open_rate_limits(
    redis_url: str, clock: Clock, *, max_keys: int, prefix: str = PREFIX
) -> MemoryRateLimits | RedisRateLimits:
    """Nothing is opened yet: the Redis client connects on first use; ``close`` it at shutdown."""
    if not redis_url or redis_url == "local":
        return MemoryRateLimits(clock, max_keys=max_keys)
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRateLimits(redis_url, clock, max_keys=max_keys, prefix=prefix)
    raise ValueError(f"unsupported Redis URL {redis_url!r}")


def open_connection_slots(
    redis_url: str, clock: Clock, *, ttl_s: float, prefix: str = PREFIX
) -> RedisConnectionSlots | None:
    """The shared connection count when Redis is configured (several nodes); None for one node,
    whose in-process count (passerelle.server.ws.admission) is the whole truth."""
    if not redis_url or redis_url == "local":
        return None
    return RedisConnectionSlots(redis_url, clock, ttl_s=ttl_s, prefix=prefix)
