"""Conversations: ids, membership and disappearing-message timers.

A direct (1:1) conversation's id is derived from its two members, so both sides and every device
agree on it without asking the server, and a second "create" is naturally idempotent.
"""

from __future__ import annotations

import base64
import enum
import hashlib

from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId, ConversationId, Timestamp

DAY_S = 86_400
TIMERS_S: frozenset[int] = frozenset({0, DAY_S, 7 * DAY_S, 30 * DAY_S, 90 * DAY_S, 365 * DAY_S})
"""Allowed disappearing timers in seconds: off, 24 h, 7 d, 30 d, 90 d, 365 d."""


class ConversationKind(enum.StrEnum):
    DIRECT = "direct"
    GROUP = "group"


def direct_conversation_id(a: AccountId, b: AccountId) -> ConversationId:
    if a == b:
        raise InvalidInput("a direct conversation needs two different people")
    lo, hi = sorted((a, b))
    digest = hashlib.sha256(f"passerelle-dm\x00{lo}\x00{hi}".encode()).digest()[:15]
    return ConversationId("d_" + base64.b32encode(digest).decode().lower())


def validate_timer(ttl_s: int) -> int:
    if ttl_s not in TIMERS_S:
        allowed = ", ".join(str(t) for t in sorted(TIMERS_S))
        raise InvalidInput(f"a disappearing timer is one of {allowed} seconds")
    return ttl_s


def message_expiry(*, now: Timestamp, retention_s: int, timer_s: int, ttl_s: int | None) -> Timestamp:
    """When a message stops existing on the server: the earliest of retention, timer and own ttl."""
    limit = retention_s
    if timer_s:
        limit = min(limit, timer_s)
    if ttl_s:
        limit = min(limit, ttl_s)
    return Timestamp(now + limit * 1000)
