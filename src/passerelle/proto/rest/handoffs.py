"""Hand-offs in the operator's admin API (``/v1/admin/businesses/{business}/handoffs``, docs/bots.md
"Hand-off"): what the agent inbox will show, until it exists."""

from __future__ import annotations

from passerelle.proto.rest.base import Answer, Body


class HandOffOut(Answer, frozen=True):
    handoff_id: str
    business_id: str
    phone_number_id: str
    user_id: str
    """The person's id at the business (never their account or app)."""
    summary: str
    """As the business's bot wrote it."""
    reason: str
    status: str
    """``open``, ``taken``, ``handed_back`` or ``resolved``."""
    created_at: int
    updated_at: int
    agent: str | None = None
    """Who took it (absent until taken)."""


class HandOffList(Answer, frozen=True):
    handoffs: list[HandOffOut]


class TakeHandOff(Body):
    agent: str
    """Who takes the conversation (1 to 128 characters)."""
