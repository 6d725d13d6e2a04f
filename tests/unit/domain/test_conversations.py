"""Direct conversation ids, disappearing timers and message expiry."""

from __future__ import annotations

import base64
import hashlib

import pytest

from passerelle.domain.conversations import (
    DAY_S,
    TIMERS_S,
    direct_conversation_id,
    message_expiry,
    validate_timer,
)
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId, Timestamp

A, B = AccountId("a_alice"), AccountId("a_bob")


def test_a_direct_id_is_the_same_from_both_sides() -> None:
    assert direct_conversation_id(A, B) == direct_conversation_id(B, A)
    assert direct_conversation_id(A, B) != direct_conversation_id(A, AccountId("a_carol"))


def test_a_direct_id_follows_the_documented_formula() -> None:
    # docs/protocol.md section 4.9, computed independently.
    digest = hashlib.sha256(b"passerelle-dm\x00a_alice\x00a_bob").digest()[:15]
    expected = "d_" + base64.b32encode(digest).decode().lower()
    assert direct_conversation_id(B, A) == expected
    assert len(expected) == 2 + 24
    assert "=" not in expected


def test_nobody_has_a_direct_conversation_with_themselves() -> None:
    with pytest.raises(InvalidInput):
        direct_conversation_id(A, A)


@pytest.mark.parametrize("timer", sorted(TIMERS_S))
def test_allowed_timers(timer: int) -> None:
    assert validate_timer(timer) == timer


@pytest.mark.parametrize("timer", [-1, 1, 3600, 2 * DAY_S, 10**9])
def test_other_timers_are_refused(timer: int) -> None:
    with pytest.raises(InvalidInput, match="86400"):
        validate_timer(timer)


def test_a_message_expires_at_the_earliest_of_retention_timer_and_ttl() -> None:
    now = Timestamp(1_000_000)
    assert message_expiry(now=now, retention_s=30 * DAY_S, timer_s=0, ttl_s=None) == now + 30 * DAY_S * 1000
    assert message_expiry(now=now, retention_s=30 * DAY_S, timer_s=DAY_S, ttl_s=None) == now + DAY_S * 1000
    assert message_expiry(now=now, retention_s=30 * DAY_S, timer_s=DAY_S, ttl_s=60) == now + 60_000
    assert message_expiry(now=now, retention_s=30, timer_s=DAY_S, ttl_s=60) == now + 30_000
