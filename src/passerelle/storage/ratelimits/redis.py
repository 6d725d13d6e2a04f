"""Rate-limit buckets in Redis: the RateLimits port shared by every node, so a limit holds however
many nodes a client spreads its requests over.

One Lua script does a whole ``take`` atomically: refill, spend, and the rule's table bound. Each
bucket is a hash that expires when it would have refilled (forgetting a full bucket changes nothing);
each rule has an index (a sorted set: key -> when its bucket is full again) that holds at most
``max_keys`` buckets. A new key in a full index first drops the buckets that have refilled; when all
are still in force, the newcomer is refused until the first of them refills, as in memory. Both keys
of a rule share a hash tag, so the script also runs on a Redis cluster.

Time is the nodes' wall clock (``Clock.now_ms``), which NTP keeps within milliseconds across nodes.
When Redis does not answer, a check raises Unavailable: a limit is never silently skipped.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from passerelle.domain.errors import Unavailable
from passerelle.service.ports import Clock

PREFIX = "passerelle:rl"
NEVER_MS = 366 * 86_400_000
"""How long a bucket that never refills (a zero rate) is kept."""

TAKE = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local max_keys = tonumber(ARGV[5])
local member = ARGV[6]
local never = tonumber(ARGV[7])
local state = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  if cost <= 0 then return '0' end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= max_keys then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return tostring(math.max(1, tonumber(oldest[2]) - now) / 1000)
  end
  tokens = burst
  stamp = now
elseif now > stamp then
  tokens = tokens + (now - stamp) * rate
  stamp = now
end
if tokens > burst then tokens = burst end
local need = cost
if need <= 0 then need = 1 end
local wait = '0'
if tokens >= need then
  tokens = tokens - cost
elseif rate > 0 then
  wait = tostring((need - tokens) / rate / 1000)
else
  wait = 'inf'
end
local full_in = 0
if tokens < burst then
  if rate > 0 then full_in = math.ceil((burst - tokens) / rate) else full_in = never end
end
if full_in > 0 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(stamp))
  redis.call('PEXPIRE', KEYS[1], full_in)
  redis.call('ZADD', KEYS[2], now + full_in, member)
else
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], member)
end
return wait
"""


class RedisRateLimits:
    def __init__(self, url: str, clock: Clock, *, max_keys: int = 100_000, prefix: str = PREFIX) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self._clock = clock
        self._max_keys = max_keys
        self._prefix = prefix
        self._redis = aioredis.from_url(url, socket_keepalive=True, health_check_interval=15)
        self._take = self._redis.register_script(TAKE)

    async def take(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1.0) -> float:
        table = f"{self._prefix}:{{{rule}}}"
        args: list[str | int] = [
            self._clock.now_ms(),
            repr(float(rate)),
            repr(float(burst)),
            repr(float(cost)),
            self._max_keys,
            key,
            NEVER_MS,
        ]
        try:
            answer = await self._take(keys=[f"{table}:b:{key}", f"{table}:i"], args=args)
        except RedisError as exc:
            raise Unavailable("the shared rate limits (Redis) do not answer; try again later") from exc
        return float(answer)

    async def close(self) -> None:
        await self._redis.aclose()
