"""The RateLimits contract: what the in-memory buckets and the Redis ones promise the limiter.

A bucket allows its burst then answers how long to wait; a peek (cost 0) spends and keeps nothing.
Each rule has a table of its own, bounded on its own: filling one rule with invented keys neither
touches another rule nor forgets a limit in force in the same rule. A full table of limits in force
refuses newcomers (fail safe) until one refills; refilled buckets make room. On Redis, several
nodes share the buckets, and concurrent takes never spend more than the burst.

Redis tests run when PASSERELLE_TEST_REDIS_URL is set, each under a key prefix of its own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import Timestamp
from passerelle.service.ports import RateLimits
from passerelle.storage.ratelimits import open_rate_limits
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.ratelimits.redis import RedisRateLimits

REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")
MAX_KEYS = 50


class StepClock:
    """Wall and monotonic time moved by the test only."""

    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now_ms(self) -> Timestamp:
        return Timestamp(int(self.t * 1000))

    def monotonic(self) -> float:
        return self.t


MakeLimits = Callable[[], RateLimits]
"""Another node's view of the same buckets (in memory: the same object)."""


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest, clock: StepClock) -> AsyncIterator[MakeLimits]:
    if request.param == "memory":
        shared = MemoryRateLimits(clock, max_keys=MAX_KEYS)
        yield lambda: shared
        return
    if not REDIS_URL:
        pytest.skip("PASSERELLE_TEST_REDIS_URL is not set")
    prefix = f"passerelle:test-rl:{secrets.token_hex(6)}"
    opened: list[RedisRateLimits] = []

    def node() -> RateLimits:
        limits = RedisRateLimits(REDIS_URL, clock, max_keys=MAX_KEYS, prefix=prefix)
        opened.append(limits)
        return limits

    try:
        yield node
    finally:
        for limits in opened:
            await limits.close()
        raw = aioredis.from_url(REDIS_URL)
        try:
            keys = [k async for k in raw.scan_iter(match=f"{prefix}:*")]
            if keys:
                await raw.delete(*keys)
        finally:
            await raw.aclose()


async def takes(
    limits: RateLimits, rule: str, key: str, n: int, *, rate: float = 1.0, burst: float = 3
) -> list[float]:
    return [await limits.take(rule, key, rate=rate, burst=burst) for _ in range(n)]


async def test_a_burst_is_allowed_then_the_wait_is_answered_and_tokens_come_back(
    make: MakeLimits, clock: StepClock
) -> None:
    limits = make()
    assert await takes(limits, "login", "1.2.3.4", 3, rate=0.5) == [0.0, 0.0, 0.0]
    assert await limits.take("login", "1.2.3.4", rate=0.5, burst=3) == pytest.approx(2.0, abs=0.01)
    clock.t += 2.0
    assert await limits.take("login", "1.2.3.4", rate=0.5, burst=3) == 0.0
    assert await limits.take("login", "1.2.3.4", rate=0.5, burst=3) > 0


async def test_keys_and_rules_have_their_own_buckets(make: MakeLimits) -> None:
    limits = make()
    assert await takes(limits, "login", "a", 1, burst=1) == [0.0]
    assert await takes(limits, "login", "b", 1, burst=1) == [0.0]
    assert await takes(limits, "lookup", "a", 1, burst=1) == [0.0]
    assert (await takes(limits, "login", "a", 1, burst=1))[0] > 0


async def test_a_peek_spends_nothing_and_keeps_nothing(make: MakeLimits) -> None:
    limits = make()
    for n in range(MAX_KEYS * 2):
        assert await limits.take("hello", f"peeked-{n}", rate=1, burst=2, cost=0) == 0.0
    # Peeks took no room: a full table's worth of real keys still fits.
    for n in range(MAX_KEYS):
        assert await limits.take("hello", f"real-{n}", rate=1, burst=2) == 0.0
    assert await limits.take("hello", "real-0", rate=1, burst=2) == 0.0
    assert await limits.take("hello", "real-0", rate=1, burst=2, cost=0) == pytest.approx(1.0, abs=0.01)
    assert await limits.take("hello", "real-1", rate=1, burst=2, cost=0) == 0.0


async def test_flooding_one_rule_with_invented_keys_leaves_other_rules_and_limits_in_force(
    make: MakeLimits,
) -> None:
    limits = make()
    # Limits in force: a login rule for one account, and one key of the flooded rule itself.
    assert await takes(limits, "login:account", "photo:alice", 3, rate=0.01) == [0.0] * 3
    assert await takes(limits, "code:phone", "+33799999999", 3, rate=0.01) == [0.0] * 3

    flood = [await limits.take("code:phone", f"+336{n:08d}", rate=0.01, burst=3) for n in range(MAX_KEYS * 4)]

    assert flood[: MAX_KEYS - 1] == [0.0] * (MAX_KEYS - 1)  # the table's room, then refusals
    refused = flood[MAX_KEYS - 1 :]
    assert all(wait > 0 for wait in refused)
    assert max(refused) <= 3 / 0.01 + 1  # newcomers wait at most until the oldest bucket refills
    # Nothing in force was forgotten, in either rule.
    assert await limits.take("login:account", "photo:alice", rate=0.01, burst=3) > 0
    assert await limits.take("code:phone", "+33799999999", rate=0.01, burst=3) > 0
    # Known keys of the full rule go on being counted.
    assert await limits.take("code:phone", f"+336{1:08d}", rate=0.01, burst=3) == 0.0


async def test_buckets_that_refilled_make_room_for_newcomers(make: MakeLimits, clock: StepClock) -> None:
    limits = make()
    for n in range(MAX_KEYS):
        assert await limits.take("lookup", f"device-{n}", rate=1, burst=2) == 0.0
    assert await limits.take("lookup", "late", rate=1, burst=2) > 0
    clock.t += 1.5  # every bucket refilled (1 token at 1 per second, and some)
    for n in range(MAX_KEYS):
        assert await limits.take("lookup", f"new-{n}", rate=1, burst=2) == 0.0
    assert await limits.take("lookup", "late", rate=1, burst=2) > 0  # full again, all in force


async def test_nodes_share_the_buckets_and_concurrent_takes_never_exceed_the_burst(make: MakeLimits) -> None:
    nodes = [make(), make(), make()]
    waits = await asyncio.gather(
        *(nodes[n % 3].take("login:client", "198.51.100.4", rate=0.001, burst=10) for n in range(40))
    )
    assert sum(1 for w in waits if w == 0.0) == 10
    assert await nodes[1].take("login:client", "198.51.100.4", rate=0.001, burst=10) > 0


async def test_a_zero_rate_bucket_never_refills(make: MakeLimits, clock: StepClock) -> None:
    limits = make()
    assert await limits.take("r", "k", rate=0.0, burst=1) == 0.0
    clock.t += 1e6
    assert await limits.take("r", "k", rate=0.0, burst=1) == float("inf")


async def test_redis_that_does_not_answer_is_unavailable_never_a_skipped_limit(clock: StepClock) -> None:
    limits = RedisRateLimits("redis://127.0.0.1:9/0", clock)
    try:
        with pytest.raises(Unavailable):
            await limits.take("login:client", "1.2.3.4", rate=1, burst=1)
    finally:
        await limits.close()


def test_the_adapter_follows_the_redis_setting(clock: StepClock) -> None:
    assert isinstance(open_rate_limits("", clock, max_keys=10), MemoryRateLimits)
    assert isinstance(open_rate_limits("redis://127.0.0.1:6379/0", clock, max_keys=10), RedisRateLimits)
    with pytest.raises(ValueError, match="Redis URL"):
        open_rate_limits("memcached://x", clock, max_keys=10)
    with pytest.raises(ValueError, match="max_keys"):
        MemoryRateLimits(clock, max_keys=0)
