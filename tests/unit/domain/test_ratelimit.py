"""The token bucket, with time passed in."""

from __future__ import annotations

import pytest

from passerelle.domain.ratelimit import TokenBucket


def test_a_full_bucket_allows_a_burst_then_asks_to_wait() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(1.0)


def test_tokens_come_back_at_the_rate_up_to_the_burst() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=2, now=0.0)
    bucket.take(0.0, cost=2)
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0, cost=2) == 0.0
    assert bucket.take(100.0) == pytest.approx(0.5)


def test_time_going_backwards_adds_nothing() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=1, now=10.0)
    bucket.take(10.0)
    assert bucket.take(5.0) > 0


def test_a_zero_rate_bucket_never_refills() -> None:
    bucket = TokenBucket.full(rate=0.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(1e9) == float("inf")
