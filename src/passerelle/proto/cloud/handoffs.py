"""The hand-off's Cloud-API-style shapes (a Passerelle extension, docs/bots.md "Hand-off"): the
bot's request ``POST /{phone_number_id}/handoffs`` and the webhook the business gets when a
hand-off changes, in the Cloud API's envelope with ``field: "passerelle_handoffs"`` (a bot that does
not know the field ignores it, as pywa does)."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from passerelle.proto.cloud.messages import Body, always
from passerelle.proto.cloud.webhooks import Metadata, WebhookContact

HANDOFF_FIELD: Final = "passerelle_handoffs"
MAX_SUMMARY_CHARS: Final = 4096
MAX_REASON_CHARS: Final = 64


class HandOffRequest(Body):
    """The bot asks for a person: who (``user_id`` or ``wa_id``), with the bot's summary."""

    user_id: str | None = None
    wa_id: str | None = None
    summary: Annotated[str, msgspec.Meta(max_length=MAX_SUMMARY_CHARS)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] = "requested"


class HandOffAnswer(Body):
    handoff_id: str
    status: str
    """``open`` (just opened) or the status of the person's hand-off already active."""
    created: bool


class HandOffValue(Body):
    metadata: Metadata
    contacts: list[WebhookContact]
    handoff_id: str
    user_id: str
    status: str
    """``open``, ``taken``, ``handed_back`` or ``resolved``."""
    timestamp: int
    """Unix seconds."""
    agent: str | None = None
    messaging_product: str = always("whatsapp")


class HandOffChange(Body):
    value: HandOffValue
    field: str = always(HANDOFF_FIELD)


class HandOffEntry(Body):
    id: str
    changes: list[HandOffChange]


class HandOffPayload(Body):
    entry: list[HandOffEntry]
    object: str = always("whatsapp_business_account")
