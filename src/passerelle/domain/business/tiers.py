"""Messaging limits (docs/business.md section 5): how many unique people a business account may reach
outside a customer-service window in a rolling 24 hours, and how the tier moves."""

from __future__ import annotations

import enum
from typing import Final

from passerelle.domain.business.quality import Quality

EVALUATION_INTERVAL_MS: Final = 6 * 3600 * 1000
REACH_WINDOW_MS: Final = 24 * 3600 * 1000
VOLUME_WINDOW_MS: Final = 7 * 24 * 3600 * 1000
RED_STREAK_TO_LOWER: Final = 2


class Tier(enum.IntEnum):
    """The tiers in order; the value is the limit (``UNLIMITED`` has none)."""

    TIER_250 = 250
    TIER_2K = 2_000
    TIER_10K = 10_000
    TIER_100K = 100_000
    TIER_UNLIMITED = 1 << 62

    @property
    def limit(self) -> int | None:
        return None if self is Tier.TIER_UNLIMITED else int(self)

    @property
    def wire(self) -> str:
        """The Cloud API's ``messaging_limit_tier``."""
        return self.name


TIERS: Final = tuple(Tier)


def within_limit(tier: Tier, reached_24h: int) -> bool:
    """Whether one more new person may be reached, ``reached_24h`` having been reached already."""
    limit = tier.limit
    return limit is None or reached_24h < limit


def next_tier(current: Tier, *, reached_7d: int, quality: Quality, red_streak: int) -> Tier:
    """The tier after an evaluation: one up when the account reached at least half its limit over
    7 days and its quality is not RED; one down after ``RED_STREAK_TO_LOWER`` RED evaluations in a
    row; never below the first tier."""
    index = TIERS.index(current)
    if quality is Quality.RED:
        if red_streak >= RED_STREAK_TO_LOWER and index > 0:
            return TIERS[index - 1]
        return current
    limit = current.limit
    if limit is not None and reached_7d * 2 >= limit and index + 1 < len(TIERS):
        return TIERS[index + 1]
    return current
