"""The rate limiter's use-case side: named rules over the RateLimits port, RateLimited with a retry
delay, limits charged only on failure, and the key of a client address. How buckets are kept (one
bounded table per rule) is the RateLimits contract's business: tests/contract/test_rate_limits.py."""

from __future__ import annotations

import pytest

from passerelle.domain.errors import RateLimited
from passerelle.domain.ids import Timestamp
from passerelle.service.limiter import RateLimiter, client_key_of
from passerelle.storage.ratelimits.memory import MemoryRateLimits


class StepClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now_ms(self) -> Timestamp:
        return Timestamp(int(self.t * 1000))

    def monotonic(self) -> float:
        return self.t


async def test_a_burst_is_allowed_then_refused_with_the_wait() -> None:
    clock = StepClock()
    limiter = RateLimiter(MemoryRateLimits(clock))
    for _ in range(3):
        await limiter.check("login", "1.2.3.4", rate=0.5, burst=3)
    with pytest.raises(RateLimited) as caught:
        await limiter.check("login", "1.2.3.4", rate=0.5, burst=3)
    assert caught.value.retry_after_s == pytest.approx(2.0)
    clock.t += 2.0
    await limiter.check("login", "1.2.3.4", rate=0.5, burst=3)


async def test_a_window_allows_count_requests_per_window() -> None:
    clock = StepClock()
    limiter = RateLimiter(MemoryRateLimits(clock))
    for _ in range(3):
        await limiter.check_window("code", "+33612345678", count=3, window_s=600)
    with pytest.raises(RateLimited) as caught:
        await limiter.check_window("code", "+33612345678", count=3, window_s=600)
    assert caught.value.retry_after_s == pytest.approx(200.0)
    clock.t += 600
    for _ in range(3):
        await limiter.check_window("code", "+33612345678", count=3, window_s=600)


async def test_a_limit_charged_on_failure_is_asked_first_without_spending() -> None:
    buckets = MemoryRateLimits(StepClock())
    limiter = RateLimiter(buckets)
    for _ in range(5):
        await limiter.check_open("hello-failed", "1.2.3.4", count=2, window_s=60)
    assert buckets.size("hello-failed") == 0  # asking created nothing
    for _ in range(2):
        await limiter.check_window("hello-failed", "1.2.3.4", count=2, window_s=60)
    with pytest.raises(RateLimited) as caught:
        await limiter.check_open("hello-failed", "1.2.3.4", count=2, window_s=60)
    assert caught.value.retry_after_s == pytest.approx(30.0)
    await limiter.check_open("hello-failed", "5.6.7.8", count=2, window_s=60)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        (None, "unknown"),
        ("", "unknown"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_a_client_is_keyed_by_its_address_and_an_ipv6_client_by_its_64(host: str | None, key: str) -> None:
    assert client_key_of(host) == key
