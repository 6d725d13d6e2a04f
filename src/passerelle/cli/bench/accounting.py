"""Every message of a run accounted for, by message id: what was sent, confirmed, delivered (once
per recipient device), delivered twice, rejected or never answered. Pure: no I/O, no clock.

A run is **ok** only when every send was confirmed (``sent``), every confirmed message reached each
of its recipient devices exactly once, and no error frame came back. Anything else is a failed run:
its figures are not published, its counts are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REJECTION_THAT_STOPS = "rate_limited"
"""A send answered with this code means the load exceeds what the server admits (its limits): the
run stops at once instead of measuring a storm of rejections."""


class Inbox:
    """The message ids one recipient device received: each new id once, repeats counted."""

    __slots__ = ("duplicates", "seen")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.duplicates = 0

    def receive(self, mid: int) -> bool:
        """True for a message id not seen before; False (and counted) for a repeat."""
        seen = self.seen
        if mid in seen:
            self.duplicates += 1
            return False
        seen.add(mid)
        return True


def undelivered(routes: Iterable[tuple[Collection[int], Collection[int]]]) -> int:
    """Over (confirmed message ids, ids the recipient device received) pairs, one per recipient
    device: how many confirmed messages some recipient never received."""
    missing = 0
    for confirmed, seen in routes:
        if isinstance(seen, set):
            missing += sum(1 for mid in confirmed if mid not in seen)
        else:
            missing += len(set(confirmed) - set(seen))
    return missing


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """What happened to the messages of one scenario (the whole run, warm-up included)."""

    sent: int
    """Send frames the bench wrote."""
    confirmed: int
    """Sends the server answered with ``sent`` (stored durably)."""
    expected: int
    """Deliveries owed: each confirmed message times its recipient devices."""
    delivered: int
    """Distinct (recipient device, message id) received."""
    undelivered: int
    """Owed deliveries that never came (within the drain timeout)."""
    duplicated: int
    """Deliveries of a message id the recipient device already had."""
    unanswered: int = 0
    """Sends with neither ``sent`` nor an error after the drain timeout."""
    rejected: Mapping[str, int] = field(default_factory=dict)
    """Sends answered with an ``error`` frame, by code."""
    errors: Mapping[str, int] = field(default_factory=dict)
    """Everything else that went wrong: error frames that answer no send, lost or closed
    connections (``disconnected``, ``closed_<code>``), the bench's own shortfalls."""

    @property
    def ok(self) -> bool:
        return not (
            self.undelivered
            or self.duplicated
            or self.unanswered
            or any(self.rejected.values())
            or any(self.errors.values())
            or self.confirmed + sum(self.rejected.values()) + self.unanswered != self.sent
        )

    def failure(self) -> str | None:
        """Why the run failed, in a few words, or None when it is ok."""
        if self.ok:
            return None
        parts = []
        rejected = sum(self.rejected.values())
        if rejected:
            codes = ", ".join(f"{code} {n}" for code, n in sorted(self.rejected.items()))
            parts.append(f"{rejected} sends rejected ({codes})")
        if self.unanswered:
            parts.append(f"{self.unanswered} sends unanswered")
        if self.undelivered:
            parts.append(f"{self.undelivered} deliveries missing")
        if self.duplicated:
            parts.append(f"{self.duplicated} duplicated")
        errors = {code: n for code, n in self.errors.items() if n}
        if errors:
            parts.append("errors " + ", ".join(f"{code} {n}" for code, n in sorted(errors.items())))
        if not parts:
            parts.append(
                f"{self.sent} sent but {self.confirmed} confirmed, "
                f"{sum(self.rejected.values())} rejected, {self.unanswered} unanswered"
            )
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "confirmed": self.confirmed,
            "expected": self.expected,
            "delivered": self.delivered,
            "undelivered": self.undelivered,
            "duplicated": self.duplicated,
            "unanswered": self.unanswered,
            "rejected": dict(sorted((k, v) for k, v in self.rejected.items() if v)),
            "errors": dict(sorted((k, v) for k, v in self.errors.items() if v)),
        }


NO_MESSAGES = Counts(sent=0, confirmed=0, expected=0, delivered=0, undelivered=0, duplicated=0)
"""For scenarios that send no messages (idle connections, logins): only ``errors`` can fail them."""
