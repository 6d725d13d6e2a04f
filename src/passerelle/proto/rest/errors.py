"""The error body of every REST answer that fails (docs/protocol.md §2)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from passerelle.proto.rest.base import Answer


class ErrorDetail(Answer, frozen=True):
    code: str
    message: str = ""
    retry_after: float | UnsetType = UNSET
    """``rate_limited``: whole seconds before trying again (also the Retry-After header)."""
    missing: list[str] | UnsetType = UNSET
    """``stale_devices``: devices the sender did not encrypt for."""
    extra: list[str] | UnsetType = UNSET
    """``stale_devices``: devices the sender encrypted for that are gone."""


class ErrorBody(Answer, frozen=True):
    """``{"error": {"code", "message", ...}}``."""

    error: ErrorDetail
