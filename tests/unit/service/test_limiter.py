"""The rate limiter: buckets per (rule, key), bounded memory, RateLimited with a retry delay."""

from __future__ import annotations

import pytest

from passerelle.domain.errors import RateLimited
from passerelle.domain.ids import Timestamp
from passerelle.service.limiter import RateLimiter


class StepClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now_ms(self) -> Timestamp:
        return Timestamp(int(self.t * 1000))

    def monotonic(self) -> float:
        return self.t


def test_a_burst_is_allowed_then_refused_with_the_wait() -> None:
    clock = StepClock()
    limiter = RateLimiter(clock)
    for _ in range(3):
        limiter.check("login", "1.2.3.4", rate=0.5, burst=3)
    with pytest.raises(RateLimited) as caught:
        limiter.check("login", "1.2.3.4", rate=0.5, burst=3)
    assert caught.value.retry_after_s == pytest.approx(2.0)
    clock.t += 2.0
    limiter.check("login", "1.2.3.4", rate=0.5, burst=3)


def test_rules_and_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(StepClock())
    limiter.check("login", "a", rate=1, burst=1)
    limiter.check("login", "b", rate=1, burst=1)
    limiter.check("lookup", "a", rate=1, burst=1)
    with pytest.raises(RateLimited):
        limiter.check("login", "a", rate=1, burst=1)


def test_a_window_allows_count_requests_per_window() -> None:
    clock = StepClock()
    limiter = RateLimiter(clock)
    for _ in range(3):
        limiter.check_window("code", "+33612345678", count=3, window_s=600)
    with pytest.raises(RateLimited) as caught:
        limiter.check_window("code", "+33612345678", count=3, window_s=600)
    assert caught.value.retry_after_s == pytest.approx(200.0)
    clock.t += 600
    for _ in range(3):
        limiter.check_window("code", "+33612345678", count=3, window_s=600)


def test_memory_is_bounded_and_the_least_recently_used_key_goes_first() -> None:
    limiter = RateLimiter(StepClock(), max_keys=2)
    limiter.check("r", "old", rate=1, burst=1)
    limiter.check("r", "kept", rate=1, burst=1)
    with pytest.raises(RateLimited):
        limiter.check("r", "old", rate=1, burst=1)  # touches "old": "kept" is now the oldest
    limiter.check("r", "new", rate=1, burst=1)
    assert len(limiter) == 2
    with pytest.raises(RateLimited):
        limiter.check("r", "old", rate=1, burst=1)
    limiter.check("r", "kept", rate=1, burst=1)  # forgotten, so full again


def test_cost_takes_several_tokens() -> None:
    limiter = RateLimiter(StepClock())
    limiter.check("r", "k", rate=1, burst=10, cost=8)
    with pytest.raises(RateLimited):
        limiter.check("r", "k", rate=1, burst=10, cost=3)
    limiter.check("r", "k", rate=1, burst=10, cost=2)


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        RateLimiter(StepClock(), max_keys=0)
