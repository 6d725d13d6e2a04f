"""The Redis ConnectionSlots: an account's connections counted across nodes, one slot per device.

Two adapters on one Redis play two nodes. An account holds at most its cap of slots whichever node
claims them; a device that reconnects (elsewhere) takes its own slot over instead of counting twice;
a released slot frees the cap at once, but only its holder's release counts; a slot its node stops
refreshing (a dead node) stops counting after the time to live; a refresh keeps slots alive and
takes back a slot Redis lost. The keys expire a time to live after their last write.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import Timestamp
from passerelle.storage.ratelimits import open_connection_slots
from passerelle.storage.ratelimits.slots import RedisConnectionSlots

pytestmark = pytest.mark.redis
REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")
TTL_S = 30.0


class StepClock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now_ms(self) -> Timestamp:
        return Timestamp(int(self.t * 1000))

    def monotonic(self) -> float:
        return self.t


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
async def nodes(clock: StepClock) -> AsyncIterator[tuple[RedisConnectionSlots, RedisConnectionSlots]]:
    if not REDIS_URL:
        pytest.skip("PASSERELLE_TEST_REDIS_URL is not set")
    prefix = f"passerelle:test-slots:{secrets.token_hex(6)}"
    a = RedisConnectionSlots(REDIS_URL, clock, ttl_s=TTL_S, prefix=prefix)
    b = RedisConnectionSlots(REDIS_URL, clock, ttl_s=TTL_S, prefix=prefix)
    try:
        yield a, b
    finally:
        admin = aioredis.from_url(REDIS_URL)
        keys = [k async for k in admin.scan_iter(match=f"{prefix}:*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()
        await a.close()
        await b.close()


async def test_an_account_holds_its_cap_across_nodes_and_a_device_one_slot(
    nodes: tuple[RedisConnectionSlots, RedisConnectionSlots],
) -> None:
    a, b = nodes
    assert await a.claim("alice", "phone", "a1", cap=2)
    assert await b.claim("alice", "laptop", "b1", cap=2)
    assert not await a.claim("alice", "tablet", "a2", cap=2)  # two on two nodes: full
    assert await b.claim("bob", "tablet", "b2", cap=2)  # another account is not affected
    # The phone reconnects on B: it takes its own slot over, still two slots.
    assert await b.claim("alice", "phone", "b3", cap=2)
    assert not await b.claim("alice", "tablet", "b4", cap=2)
    # A's old connection of the phone closes: its release frees nothing (B holds the slot now).
    await a.release("alice", "phone", "a1")
    assert not await a.claim("alice", "tablet", "a5", cap=2)
    # The laptop closes: the cap frees at once.
    await b.release("alice", "laptop", "b1")
    assert await a.claim("alice", "tablet", "a6", cap=2)


async def test_a_slot_not_refreshed_stops_counting_after_its_time_to_live(
    nodes: tuple[RedisConnectionSlots, RedisConnectionSlots], clock: StepClock
) -> None:
    a, b = nodes
    assert await a.claim("alice", "phone", "a1", cap=2)
    assert await b.claim("alice", "laptop", "b1", cap=2)
    for _ in range(2):  # B keeps refreshing; A died after its claim
        clock.t += TTL_S / 3
        await b.refresh({"alice": [("laptop", "b1")]})
    clock.t += TTL_S / 3 - 1
    assert not await b.claim("alice", "tablet", "b2", cap=2)  # A's slot still counts (just)
    clock.t += 1
    assert await b.claim("alice", "tablet", "b2", cap=2)  # A's slot expired: its place is free
    assert not await b.claim("alice", "watch", "b3", cap=2)  # B's refreshed laptop still counts
    # A refresh by a connection that no longer holds its slot does not take it back.
    await a.refresh({"alice": [("phone", "a1")]})
    assert not await b.claim("alice", "watch", "b3", cap=2)


async def test_the_keys_expire_and_a_refresh_takes_back_what_redis_lost(
    nodes: tuple[RedisConnectionSlots, RedisConnectionSlots],
) -> None:
    a, b = nodes
    assert await a.claim("alice", "phone", "a1", cap=1)
    admin = aioredis.from_url(REDIS_URL)
    try:
        slots, holders = a.keys("alice")
        for key in (slots, holders):
            assert 0 < await admin.pttl(key) <= TTL_S * 1000
        assert await admin.zcard(slots) == 1
        await admin.delete(slots, holders)  # Redis restarted empty
        await a.refresh({"alice": [("phone", "a1")]})
        assert not await b.claim("alice", "laptop", "b1", cap=1)
        assert await admin.hget(holders, "phone") == b"a1"
        await a.release("alice", "phone", "a1")
        assert await admin.exists(slots, holders) == 0  # nothing kept for an account with no slot
    finally:
        await admin.aclose()


async def test_no_redis_means_no_shared_count_and_a_dead_redis_is_unavailable(clock: StepClock) -> None:
    assert open_connection_slots("", clock, ttl_s=TTL_S) is None
    dead = RedisConnectionSlots("redis://127.0.0.1:1/0", clock, ttl_s=TTL_S)
    try:
        with pytest.raises(Unavailable):
            await dead.claim("alice", "phone", "a1", cap=2)
        with pytest.raises(Unavailable):
            await dead.refresh({"alice": [("phone", "a1")]})
        with pytest.raises(Unavailable):
            await dead.release("alice", "phone", "a1")
    finally:
        await dead.close()
