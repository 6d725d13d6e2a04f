"""What the Cloud API answers: sends, ``success``, media, the phone-number object, the business
profile, ``block_users``, and the Graph error envelope (../shared/reference/cloud-api.md section 3).
pywa reads ``messages[0].id``, ``contacts[0].input`` and ``contacts[0].wa_id`` or ``user_id``."""

from __future__ import annotations

from typing import Annotated

import msgspec

from passerelle.proto.cloud.limits import BLOCK_USERS_MAX, Short
from passerelle.proto.cloud.messages import Body, always

# -- sends --------------------------------------------------------------------------------------


class SentContact(Body):
    input: str
    wa_id: str | None = None
    user_id: str | None = None


class SentMessage(Body):
    id: str
    message_status: str | None = None
    """``accepted`` for templates (optional)."""


class SendResponse(Body):
    contacts: list[SentContact]
    messages: list[SentMessage]
    messaging_product: str = always("whatsapp")


class Success(Body):
    success: bool = always(True)


class MediaUploaded(Body):
    id: str


class MediaUrl(Body):
    url: str
    mime_type: str
    sha256: str
    file_size: int
    id: str
    messaging_product: str = always("whatsapp")


# -- errors -------------------------------------------------------------------------------------


class ErrorData(Body):
    details: str
    messaging_product: str = always("whatsapp")


class GraphError(Body):
    message: str
    type: str
    code: int
    fbtrace_id: str
    error_subcode: int | None = None
    error_data: ErrorData | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None


class ErrorEnvelope(Body):
    error: GraphError


# -- the phone-number object and the business profile -------------------------------------------


class Throughput(Body):
    level: str = always("STANDARD")


class PhoneNumber(Body):
    """``GET /{phone_number_id}``. ``messaging_limit_tier`` is ``TIER_250`` … ``TIER_UNLIMITED``."""

    id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str
    messaging_limit_tier: str
    code_verification_status: str = always("VERIFIED")
    name_status: str = always("APPROVED")
    platform_type: str = always("CLOUD_API")
    throughput: Throughput = msgspec.field(default_factory=Throughput)


class BusinessProfile(Body):
    """An entry of ``GET /{phone_number_id}/whatsapp_business_profile``'s ``data``; also the body
    of its ``POST`` (only the members given change)."""

    about: Annotated[str, msgspec.Meta(max_length=139)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    profile_picture_url: Short | None = None
    websites: Annotated[list[Short], msgspec.Meta(max_length=2)] | None = None
    vertical: Short | None = None
    messaging_product: str | None = None


VERTICALS = frozenset(
    {
        "UNDEFINED",
        "OTHER",
        "AUTO",
        "BEAUTY",
        "APPAREL",
        "EDU",
        "ENTERTAIN",
        "EVENT_PLAN",
        "FINANCE",
        "GROCERY",
        "GOVT",
        "HOTEL",
        "HEALTH",
        "NONPROFIT",
        "PROF_SERVICES",
        "RETAIL",
        "TRAVEL",
        "RESTAURANT",
        "NOT_A_BIZ",
    }
)
"""The Cloud API's ``vertical`` values. A profile always carries one (``UNDEFINED`` when unset):
pywa 4.5 reads ``data["vertical"]`` into its ``Industry`` enum and fails on a missing or other value."""


def vertical_of(category: str) -> str:
    """A business's free-text category as a Cloud API vertical: itself when it is one (any case),
    ``UNDEFINED`` when empty, else ``OTHER``."""
    wanted = category.strip().upper()
    if not wanted:
        return "UNDEFINED"
    return wanted if wanted in VERTICALS else "OTHER"


class BusinessProfiles(Body):
    data: list[BusinessProfile]


# -- block_users --------------------------------------------------------------------------------


class BlockUser(Body):
    user: Short | None = None
    """A ``wa_id``."""
    user_id: Short | None = None
    """A ``user_id`` (BSUID)."""


class BlockUsersRequest(Body):
    messaging_product: str | None = None
    block_users: Annotated[list[BlockUser], msgspec.Meta(max_length=BLOCK_USERS_MAX)] | None = None


class BlockedUser(Body):
    input: str
    wa_id: str | None = None
    user_id: str | None = None


class FailedUser(Body):
    input: str
    errors: list[GraphError]


class BlockUsersResult(Body):
    added_users: list[BlockedUser] | None = None
    removed_users: list[BlockedUser] | None = None
    failed_users: list[FailedUser] | None = None


class BlockUsersResponse(Body):
    block_users: BlockUsersResult
    messaging_product: str = always("whatsapp")


class BlockedEntry(Body):
    wa_id: str
    user_id: str | None = None
    input: str | None = None
    """Not in Meta's listing, but pywa 4.5 reads ``input`` from each entry (as for the users a call
    added or removed): the ``wa_id`` again."""
    messaging_product: str = always("whatsapp")


class Cursors(Body):
    before: str | None = None
    after: str | None = None


class Paging(Body):
    cursors: Cursors = msgspec.field(default_factory=Cursors)
    next: str | None = None


class BlockedList(Body):
    data: list[BlockedEntry]
    paging: Paging = msgspec.field(default_factory=Paging)
