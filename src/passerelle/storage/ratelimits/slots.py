"""Connection slots in Redis: the ConnectionSlots port, so that the per-account connection cap holds
across every node.

Each account has a sorted set (device -> when its slot expires, ms) and a hash (device -> the
connection that holds the slot), both under the account's hash tag so the scripts also run on a
Redis cluster. ``claim`` prunes the expired slots, counts the others and takes the device's slot if
the account is under its cap (or already holds it: a device that reconnects takes its slot over), in
one script. Each node refreshes its live connections' slots every third of the time to live;
``release`` frees a slot at close, if its connection still holds it. A node that dies stops
refreshing: its slots stop counting after the time to live, and both keys expire a time to live
after their last write. So an account holds at most ``cap`` members (one per device), and nothing is
kept for an account with no connection.

Time is the nodes' wall clock (``Clock.now_ms``), as for the shared rate limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from passerelle.domain.errors import Unavailable
from passerelle.service.ports import Clock
from passerelle.storage.ratelimits.redis import PREFIX

_PRUNE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  redis.call('HDEL', KEYS[2], unpack(expired))
end
"""

CLAIM = (
    _PRUNE
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[4]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""
)
"""KEYS: slots, holders. ARGV: now, expires at, time to live (ms), device, holder, cap."""

REFRESH = (
    _PRUNE
    + """
for i = 4, #ARGV, 2 do
  local holder = redis.call('HGET', KEYS[2], ARGV[i])
  if not holder or holder == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 0
"""
)
"""KEYS: slots, holders. ARGV: now, expires at, time to live (ms), then device, holder pairs. A slot
whose holder is unknown (Redis lost it: a restart) is taken back, so the count heals on its own."""

RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""
"""KEYS: slots, holders. ARGV: device, holder."""


class RedisConnectionSlots:
    def __init__(self, url: str, clock: Clock, *, ttl_s: float, prefix: str = PREFIX) -> None:
        if ttl_s <= 0:
            raise ValueError("the slots' time to live must be positive")
        self._clock = clock
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._prefix = prefix
        self._redis = aioredis.from_url(url, socket_keepalive=True, health_check_interval=15)
        self._claim = self._redis.register_script(CLAIM)
        self._refresh = self._redis.register_script(REFRESH)
        self._release = self._redis.register_script(RELEASE)

    def keys(self, account: str) -> list[str]:
        """The account's sorted set of slots and hash of holders."""
        base = f"{self._prefix}:conns:{{{account}}}"
        return [base, f"{base}:holders"]

    def _times(self) -> list[str | int]:
        now = self._clock.now_ms()
        return [now, now + self._ttl_ms, self._ttl_ms]

    async def claim(self, account: str, device: str, holder: str, *, cap: int) -> bool:
        try:
            answer = await self._claim(keys=self.keys(account), args=[*self._times(), device, holder, cap])
        except RedisError as exc:
            raise Unavailable("the shared connection count (Redis) does not answer") from exc
        return int(answer) == 1

    async def refresh(self, held: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        if not held:
            return
        times = self._times()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for account, slots in held.items():
                    args = [*times, *(part for slot in slots for part in slot)]
                    await self._refresh(keys=self.keys(account), args=args, client=pipe)
                await pipe.execute()
        except RedisError as exc:
            raise Unavailable("the shared connection count (Redis) does not answer") from exc

    async def release(self, account: str, device: str, holder: str) -> None:
        try:
            await self._release(keys=self.keys(account), args=[device, holder])
        except RedisError as exc:
            raise Unavailable("the shared connection count (Redis) does not answer") from exc

    async def close(self) -> None:
        await self._redis.aclose()
