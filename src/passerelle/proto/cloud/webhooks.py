"""Webhook payloads, one event per ``POST`` (../shared/reference/cloud-api.md section 4.5): incoming
messages, statuses and ``user_preferences``, each in the envelope
``{"object":"whatsapp_business_account","entry":[{"id":<waba_id>,"changes":[{"field":…,"value":…}]}]}``.

pywa 4.5 drops an incoming message whose ``contacts[0]`` lacks ``user_id`` and a status without
``contacts``: ``WebhookContact`` has both ids, and every value built here carries ``contacts``.
Timestamps are strings of Unix seconds.
"""

from __future__ import annotations

import msgspec

from passerelle.proto.cloud.commerce import InboundOrder, Payment
from passerelle.proto.cloud.messages import Body, Contact, Location, always


class Metadata(Body):
    display_phone_number: str
    phone_number_id: str


class Profile(Body):
    name: str


class WebhookContact(Body):
    wa_id: str
    user_id: str
    profile: Profile | None = None


class InboundContext(Body):
    from_: str = msgspec.field(name="from")
    id: str


class InboundText(Body):
    body: str


class InboundMedia(Body):
    id: str
    mime_type: str
    sha256: str
    caption: str | None = None
    filename: str | None = None


class ButtonReply(Body):
    id: str
    title: str


class ListReply(Body):
    id: str
    title: str
    description: str | None = None


class InboundInteractive(Body):
    type: str
    """``button_reply`` or ``list_reply``."""
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None


class InboundButton(Body):
    """A template's quick-reply button was tapped."""

    payload: str
    text: str


class InboundReaction(Body):
    message_id: str
    emoji: str


class InboundMessage(Body):
    from_: str = msgspec.field(name="from")
    id: str
    timestamp: str
    type: str
    context: InboundContext | None = None
    text: InboundText | None = None
    interactive: InboundInteractive | None = None
    button: InboundButton | None = None
    image: InboundMedia | None = None
    video: InboundMedia | None = None
    audio: InboundMedia | None = None
    document: InboundMedia | None = None
    sticker: InboundMedia | None = None
    location: Location | None = None
    contacts: list[Contact] | None = None
    reaction: InboundReaction | None = None
    order: InboundOrder | None = None
    """``type: order``: a cart the customer sent (proto/cloud/commerce.py)."""


class StatusErrorData(Body):
    details: str


class StatusError(Body):
    code: int
    title: str
    message: str
    error_data: StatusErrorData | None = None
    href: str | None = None


class Status(Body):
    id: str
    status: str
    """``sent``, ``delivered``, ``read`` or ``failed``; for a payment (``type: payment``)
    ``pending``, ``succeeded``, ``failed`` or ``refunded``."""
    timestamp: str
    recipient_id: str
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[StatusError] | None = None
    type: str | None = None
    """``payment`` for a payment's status (with ``payment``); absent for a message's."""
    payment: Payment | None = None


class UserPreference(Body):
    wa_id: str
    detail: str
    category: str
    """``marketing_messages``."""
    value: str
    """``stop`` or ``resume``."""
    timestamp: int


class Value(Body):
    metadata: Metadata
    contacts: list[WebhookContact]
    messaging_product: str = always("whatsapp")
    messages: list[InboundMessage] | None = None
    statuses: list[Status] | None = None
    user_preferences: list[UserPreference] | None = None


class Change(Body):
    field: str
    """``messages`` (messages and statuses) or ``user_preferences``."""
    value: Value


class Entry(Body):
    id: str
    changes: list[Change]


class WebhookPayload(Body):
    entry: list[Entry]
    object: str = always("whatsapp_business_account")


def one_event(waba_id: str, field: str, value: Value) -> WebhookPayload:
    """The envelope of one event, as every webhook ``POST`` carries exactly one."""
    return WebhookPayload(entry=[Entry(id=waba_id, changes=[Change(field=field, value=value)])])


# -- message_template_status_update ------------------------------------------------------------------


class TemplateOtherInfo(Body):
    title: str
    """``FIRST_PAUSE``, ``SECOND_PAUSE``…"""
    description: str


class TemplateDisableInfo(Body):
    disable_date: int


class TemplateStatusValue(Body):
    event: str
    """The new status: ``APPROVED``, ``REJECTED``, ``PAUSED``, ``DISABLED``…"""
    message_template_id: int
    message_template_name: str
    message_template_language: str
    message_template_category: str | None = None
    reason: str | None = None
    """``NONE``, or the rejection reason."""
    other_info: TemplateOtherInfo | None = None
    disable_info: TemplateDisableInfo | None = None


class TemplateChange(Body):
    value: TemplateStatusValue
    field: str = always("message_template_status_update")


class TemplateEntry(Body):
    id: str
    """The business account (WABA) id."""
    time: int
    """Unix seconds."""
    changes: list[TemplateChange]


class TemplateStatusPayload(Body):
    """A template's status changed (pywa: ``TemplateStatusUpdate``)."""

    entry: list[TemplateEntry]
    object: str = always("whatsapp_business_account")


class TemplateQualityValue(Body):
    """A template's quality score changed (Meta's ``message_template_quality_update``)."""

    previous_quality_score: str
    """``GREEN``, ``YELLOW``, ``RED`` or ``UNKNOWN``."""
    new_quality_score: str
    message_template_id: int
    message_template_name: str
    message_template_language: str


class TemplateQualityChange(Body):
    value: TemplateQualityValue
    field: str = always("message_template_quality_update")


class TemplateQualityEntry(Body):
    id: str
    """The business account (WABA) id."""
    time: int
    changes: list[TemplateQualityChange]


class TemplateQualityPayload(Body):
    """A template's quality score changed (pywa: ``TemplateQualityUpdate``)."""

    entry: list[TemplateQualityEntry]
    object: str = always("whatsapp_business_account")


class NumberQualityValue(Body):
    """A number's rating or messaging limit changed (Meta's ``phone_number_quality_update``)."""

    display_phone_number: str
    event: str
    """``FLAGGED`` (the rating fell to RED), ``UNFLAGGED`` (it left RED), ``UPGRADE`` or
    ``DOWNGRADE`` (the messaging limit moved)."""
    current_limit: str
    """The messaging-limit tier (``TIER_250`` … ``TIER_UNLIMITED``)."""
    max_daily_conversations_per_business: str
    """The same tier, as Meta names it since the limit is per business."""
    old_limit: str | None = None
    """The tier before, for a move of the limit only."""


class NumberQualityChange(Body):
    value: NumberQualityValue
    field: str = always("phone_number_quality_update")


class NumberQualityEntry(Body):
    id: str
    """The business account (WABA) id."""
    time: int
    changes: list[NumberQualityChange]


class NumberQualityPayload(Body):
    """A number's quality or limit changed (pywa has no type for it: a raw update)."""

    entry: list[NumberQualityEntry]
    object: str = always("whatsapp_business_account")
