"""``/{waba_id}/message_templates``: creating, listing and deleting templates (Meta's management
API shapes). ``category`` is ``MARKETING``, ``UTILITY`` or ``AUTHENTICATION``; ``status`` is
``PENDING``, ``APPROVED``, ``REJECTED``, ``PAUSED`` or ``DISABLED``."""

from __future__ import annotations

from typing import Annotated

import msgspec

from passerelle.proto.cloud.limits import LANGUAGE_CODE_MAX, TEMPLATE_NAME_MAX, Short, Text4096, Url
from passerelle.proto.cloud.messages import Body
from passerelle.proto.cloud.responses import Paging


class TemplateButton(Body):
    type: str | None = None
    """``QUICK_REPLY``, ``URL``, ``PHONE_NUMBER``, ``COPY_CODE``, ``OTP``."""
    text: Annotated[str, msgspec.Meta(max_length=25)] | None = None
    url: Url | None = None
    phone_number: Short | None = None
    otp_type: Short | None = None


class TemplateExample(Body):
    body_text: list[list[str]] | None = None
    header_text: list[str] | None = None
    header_handle: list[str] | None = None


class TemplateComponentSpec(Body):
    type: str | None = None
    """``HEADER``, ``BODY``, ``FOOTER``, ``BUTTONS``."""
    format: str | None = None
    text: Text4096 | None = None
    example: TemplateExample | None = None
    buttons: Annotated[list[TemplateButton], msgspec.Meta(max_length=10)] | None = None


class CreateTemplate(Body):
    name: Annotated[str, msgspec.Meta(max_length=TEMPLATE_NAME_MAX)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=LANGUAGE_CODE_MAX)] | None = None
    category: str | None = None
    components: Annotated[list[TemplateComponentSpec], msgspec.Meta(max_length=20)] | None = None
    allow_category_change: bool | None = None
    parameter_format: str | None = None
    """``POSITIONAL`` (``{{1}}``) or ``NAMED`` (``{{name}}``)."""


class TemplateCreated(Body):
    id: str
    status: str
    category: str


class QualityScore(Body):
    score: str
    """``GREEN``, ``YELLOW``, ``RED`` or ``UNKNOWN``."""
    date: int | None = None
    """Unix seconds of the last evaluation."""


class TemplateEntry(Body):
    """A template as ``GET /{waba_id}/message_templates`` and ``GET /{template_id}`` answer it; with
    ``fields=`` only the members asked for (and ``id``) are written."""

    id: str
    name: str | None = None
    language: str | None = None
    category: str | None = None
    status: str | None = None
    parameter_format: str | None = None
    components: msgspec.Raw | None = None
    """As the business sent them."""
    quality_score: QualityScore | None = None
    rejected_reason: str | None = None
    """``NONE`` unless rejected; then ``PROMOTIONAL``, ``ABUSIVE_CONTENT``, ``INCORRECT_CATEGORY``,
    ``INVALID_FORMAT``, ``TAG_CONTENT_MISMATCH`` or ``SCAM``."""


class TemplateList(Body):
    data: list[TemplateEntry]
    paging: Paging = msgspec.field(default_factory=Paging)
