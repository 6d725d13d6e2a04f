"""Businesses (docs/protocol.md §15): the operator's admin API (``/v1/admin/businesses…``) and what
people call (finding a business, their consents). The Cloud API's own shapes are in ``proto.cloud``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Raw, UnsetType

from passerelle.proto.rest.accounts import NewDevice
from passerelle.proto.rest.base import Answer, Body, Short

# -- the operator's admin API -------------------------------------------------------------------


class CreateBusiness(Body):
    slug: str
    name: str
    about: str = ""
    description: str = ""
    logo_url: str = ""
    website: str = ""
    email: str = ""
    category: str = ""
    verified: bool = False


class UpdateBusiness(Body):
    """Only the members given change."""

    name: str | None = None
    about: str | None = None
    description: str | None = None
    logo_url: str | None = None
    website: str | None = None
    email: str | None = None
    category: str | None = None
    verified: bool | None = None


class CreateBusinessAccount(Body):
    name: str = ""


class CreateNumber(Body):
    waba_id: str
    display_number: str


class CreateToken(Body):
    label: str = ""


class BusinessAccountOut(Answer, frozen=True):
    waba_id: str
    name: str
    messaging_limit_tier: str
    created_at: int


class NumberOut(Answer, frozen=True):
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    """``+`` and the digits."""
    quality_rating: str
    created_at: int


class TokenOut(Answer, frozen=True):
    token_id: str
    label: str
    created_at: int
    revoked_at: int | UnsetType = UNSET
    """Only once revoked."""
    token: str | UnsetType = UNSET
    """Only in the answer that made it."""


class AdminBusinessOut(Answer, frozen=True):
    business_id: str
    address: str
    slug: str
    name: str
    about: str
    description: str
    logo_url: str
    website: str
    email: str
    category: str
    verified: bool
    created_at: int
    accounts: list[BusinessAccountOut]
    numbers: list[NumberOut]


class AdminBusinessList(Answer, frozen=True):
    businesses: list[AdminBusinessOut]


class TokenList(Answer, frozen=True):
    tokens: list[TokenOut]


# -- business endpoints (docs/business.md section 4) ---------------------------------------------


class IssueEnrolment(Body):
    """``POST /v1/admin/businesses/{id}/enrolments``: ``self_run`` or ``hosted``."""

    mode: str


class EnrolmentOut(Answer, frozen=True):
    business_id: str
    mode: str
    token: str
    """Shown once; used once."""
    expires_at: int


class EnrolEndpoint(Body):
    """``POST /v1/business-endpoints``: the endpoint's device, with its enrolment token."""

    enrolment_token: Short
    device: NewDevice


class EndpointGrant(Answer, frozen=True):
    """The endpoint's device (a device grant) and what its hosting statement must say."""

    account_id: str
    device_id: str
    token: str
    expires_at: int
    address: str
    business_id: str
    mode: str
    operator: str


class SetStatement(Body):
    """``PUT /v1/business-endpoint/statement``: the canonical JSON as signed, and the signature."""

    statement: str
    signature: Short


class HostingOut(Answer, frozen=True):
    """A business's endpoint as its profile shows it: the device, the mode it was enrolled in and
    the hosting statement that device signed (empty until it sent one)."""

    device_id: str
    mode: str
    statement: str
    signature: str


class EndpointNumber(Answer, frozen=True):
    phone_number_id: str
    display_phone_number: str
    """Digits only, as in webhooks' ``metadata``."""
    waba_id: str


class EndpointWebhook(Answer, frozen=True):
    callback_url: str
    app_secret: str


class EndpointConfig(Answer, frozen=True):
    """``GET /v1/business-endpoint``: what the endpoint needs to serve its bot."""

    business_id: str
    address: str
    name: str
    mode: str
    operator: str
    numbers: list[EndpointNumber]
    webhook: EndpointWebhook | None = None
    """Where the endpoint posts its webhooks, with the secret that signs them (the business's own)."""


class BusinessPersonOut(Answer, frozen=True):
    """``GET /v1/business-endpoint/people?…``: a person's ids at the endpoint's business."""

    account_id: str
    wa_id: str
    user_id: str
    linked: bool = False
    """One of a person's linked accounts shared with the business: a reply to these ids goes to the
    linked account that last wrote or ordered there (asked by ``wa_id`` or ``user_id``: that one is
    ``account_id``); an endpoint asks again before each reply to them (docs/protocol.md section 16)."""


class EndpointTemplateOut(Answer, frozen=True):
    """``GET /v1/business-endpoint/templates?waba_id=…&name=…&language=…``: a template of the
    endpoint's business as its endpoint renders a send of it (the server judges its status)."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: Raw
    """As the business sent them (a JSON list)."""
    status: str


class AdminTemplateOut(Answer, frozen=True):
    """A message template, as the operator reviews it."""

    template_id: str
    waba_id: str
    name: str
    language: str
    category: str
    parameter_format: str
    status: str
    quality: str
    rejected_reason: str
    """Empty unless rejected."""
    pauses: int
    paused_until: int | None
    components: Raw
    """As the business sent them."""
    created_at: int
    updated_at: int


class AdminTemplateList(Answer, frozen=True):
    templates: list[AdminTemplateOut]


class RejectTemplate(Body):
    reason: str
    """``ABUSIVE_CONTENT``, ``INCORRECT_CATEGORY``, ``INVALID_FORMAT``, ``PROMOTIONAL``, ``SCAM`` or
    ``TAG_CONTENT_MISMATCH`` (Meta's reasons, which bots parse)."""


# -- people -------------------------------------------------------------------------------------


class PublicBusiness(Answer, frozen=True):
    """What anyone may see of a business."""

    business_id: str
    address: str
    name: str
    about: str
    description: str
    logo_url: str
    website: str
    email: str
    category: str
    verified: bool
    numbers: list[str]
    """Display numbers, ``+`` and the digits."""
    account_id: str | UnsetType = UNSET
    """The business's account (whose devices people encrypt to): absent until it has an endpoint."""
    endpoint: HostingOut | UnsetType = UNSET


class SetConsent(Body):
    source: str = "sdk"


class ConsentOut(Answer, frozen=True):
    business_id: str
    scope: str
    state: str
    source: str
    at: int


class ConsentList(Answer, frozen=True):
    consents: list[ConsentOut]
    """The current state per business and scope."""
    ledger: list[ConsentOut]
    """Every change, oldest first."""


# -- a person's report of a business (docs/business.md section 5) --------------------------------


class ReportedKind(Body):
    """A business message as declared or as observed: its Cloud API kind and, for a template, its
    name and language (never its content)."""

    kind: Short
    template: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    lang: Short | None = None
    category: Short | None = None


class ReportBusiness(Body):
    reason: Short
    """``spam``, ``scam``, ``offensive``, ``unwanted``, ``other``; ``mismatch`` from the person's
    device, with ``declared`` and ``observed``."""
    declared: ReportedKind | None = None
    observed: ReportedKind | None = None


class BusinessReported(Answer, frozen=True):
    business_id: str
    reason: str
    signal: str
    """The quality signal it counts as: ``report`` or ``mismatch``."""


class SignalOut(Answer, frozen=True):
    """A negative signal against a business (the operator's view): one per person, kind and
    business account, the latest."""

    waba_id: str
    account_id: str
    kind: str
    """``block``, ``report``, ``mismatch`` or ``stop``."""
    reason: str
    """A report's reason; a mismatch's declared and observed kinds and template names; else ''."""
    phone_number_id: str
    """The number that last reached the person outside a window, or ''."""
    template_id: str
    at: int


class SignalList(Answer, frozen=True):
    signals: list[SignalOut]
