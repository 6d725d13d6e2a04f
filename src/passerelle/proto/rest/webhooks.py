"""A business's webhook in the operator's admin API (``/v1/admin/businesses/{id}/webhook``,
docs/business.md section 9): set with the handshake, shown without its secrets."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from passerelle.proto.rest.base import Answer, Body


class SetWebhook(Body):
    callback_url: str
    verify_token: str
    app_secret: str | None = None
    """The key of ``X-Hub-Signature-256``; left out, the server makes one and shows it once."""


class WebhookOut(Answer, frozen=True):
    business_id: str
    callback_url: str
    verify_token_hint: str
    """The verify token's last 4 characters (``…`` alone for a short one)."""
    app_secret_hint: str
    updated_at: int
    pending: int
    """Events waiting in the business's outbox."""
    app_secret: str | UnsetType = UNSET
    """Only in the answer that made it (when the request had none)."""
