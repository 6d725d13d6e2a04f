"""Quality ratings (docs/business.md section 5): per business number and per template, from the
negative signals of the last 7 days per person reached outside a window; and what a RED rating does
to a template (paused 3 h, then 6 h, then disabled: Meta's rule)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

MIN_SAMPLE: Final = 100
GREEN_BELOW: Final = 0.01
YELLOW_BELOW: Final = 0.03
STOP_WEIGHT: Final = 0.5
FIRST_PAUSE_MS: Final = 3 * 3600 * 1000
SECOND_PAUSE_MS: Final = 6 * 3600 * 1000


class Quality(enum.StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    UNKNOWN = "UNKNOWN"


class TemplateStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"


class SignalKind(enum.StrEnum):
    """A negative signal against a business (docs/business.md section 5)."""

    BLOCK = "block"
    """The person blocked the business."""
    REPORT = "report"
    MISMATCH = "mismatch"
    """The person's device found content that did not match the declared kind."""
    STOP = "stop"
    """The person stopped the business's marketing messages (weighs half)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Signals:
    reached: int
    """People reached outside a window in the period."""
    blocks: int = 0
    reports: int = 0
    mismatches: int = 0
    """Messages whose decrypted content did not match the declared kind."""
    stops: int = 0

    @classmethod
    def counted(cls, reached: int, by_kind: dict[SignalKind, int]) -> Signals:
        return cls(
            reached=reached,
            blocks=by_kind.get(SignalKind.BLOCK, 0),
            reports=by_kind.get(SignalKind.REPORT, 0),
            mismatches=by_kind.get(SignalKind.MISMATCH, 0),
            stops=by_kind.get(SignalKind.STOP, 0),
        )

    @property
    def negative(self) -> float:
        return self.blocks + self.reports + self.mismatches + STOP_WEIGHT * self.stops


def rate(signals: Signals) -> Quality:
    if signals.reached < MIN_SAMPLE:
        return Quality.UNKNOWN
    ratio = signals.negative / signals.reached
    if ratio < GREEN_BELOW:
        return Quality.GREEN
    if ratio < YELLOW_BELOW:
        return Quality.YELLOW
    return Quality.RED


@dataclass(frozen=True, slots=True)
class TemplateAfterRed:
    status: TemplateStatus
    paused_for_ms: int | None


def after_red(pauses_so_far: int) -> TemplateAfterRed:
    """What a template becomes when its quality turns RED, having been paused ``pauses_so_far`` times."""
    if pauses_so_far == 0:
        return TemplateAfterRed(TemplateStatus.PAUSED, FIRST_PAUSE_MS)
    if pauses_so_far == 1:
        return TemplateAfterRed(TemplateStatus.PAUSED, SECOND_PAUSE_MS)
    return TemplateAfterRed(TemplateStatus.DISABLED, None)
