"""The customer-service window (docs/business.md section 5): after a person writes to a business,
the business may answer freely for 24 hours; each message from the person opens it again."""

from __future__ import annotations

from typing import Final

from passerelle.domain.ids import Timestamp

WINDOW_MS: Final = 24 * 3600 * 1000


def window_open(last_inbound: Timestamp | None, now: Timestamp) -> bool:
    """Whether the person wrote to the business less than 24 hours before ``now``. A message noted
    after ``now`` was read (the person writing again while a business's send is judged, or another
    node's clock a little ahead) keeps the window open: the person did write."""
    return last_inbound is not None and now - last_inbound < WINDOW_MS


def window_closes_at(last_inbound: Timestamp) -> Timestamp:
    return Timestamp(last_inbound + WINDOW_MS)
