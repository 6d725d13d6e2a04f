"""The Graph answers' shapes: the business services' records as the Cloud API's Structs
(``proto.cloud``), and the template listing's query parameters and cursors."""

from __future__ import annotations

import base64
import binascii
import secrets

import msgspec
from starlette.requests import Request

from passerelle.proto.cloud.checks import normalize_wa_id
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.responses import (
    BlockedUser,
    BlockUsersRequest,
    BlockUsersResponse,
    BlockUsersResult,
    BusinessProfile,
    ErrorData,
    FailedUser,
    GraphError,
    PhoneNumber,
    vertical_of,
)
from passerelle.proto.cloud.templates import (
    QualityScore,
    TemplateEntry,
)
from passerelle.service.business.cloud import (
    BlockOutcome,
    NumberView,
    UserRef,
)
from passerelle.service.business.records import TemplateRecord


def phone_number_out(view: NumberView) -> PhoneNumber:
    return PhoneNumber(
        id=view.number.id,
        display_phone_number=f"+{view.number.display_number}",
        verified_name=view.business.profile.name,
        quality_rating=view.number.quality.value,
        messaging_limit_tier=view.tier.wire,
    )


def profile_out(view: NumberView) -> BusinessProfile:
    p = view.business.profile
    return BusinessProfile(
        about=p.about,
        description=p.description,
        email=p.email,
        profile_picture_url=p.logo_url or None,
        websites=[p.website] if p.website else [],
        vertical=vertical_of(p.category),
        messaging_product="whatsapp",
    )


def user_refs(body: BlockUsersRequest) -> list[UserRef]:
    if body.messaging_product != "whatsapp":
        raise CloudBodyError("messaging_product", "must be 'whatsapp'")
    if not body.block_users:
        raise CloudBodyError("block_users", "needs 1 to 1000 users")
    refs = []
    for i, user in enumerate(body.block_users):
        if user.user_id is not None:
            refs.append(UserRef(input=user.user_id, user_id=user.user_id))
        elif user.user is not None and (digits := normalize_wa_id(user.user)) is not None:
            refs.append(UserRef(input=user.user, wa_id=digits))
        else:
            raise CloudBodyError(f"block_users[{i}].user", "must be a wa_id (or give user_id)")
    return refs


def block_answer(outcome: BlockOutcome, *, removed: bool) -> BlockUsersResponse:
    done = [BlockedUser(input=ref.input, wa_id=p.wa_id, user_id=p.user_id) for ref, p in outcome.done]
    failed = [
        FailedUser(
            input=ref.input,
            errors=[
                GraphError(
                    message=exc.message,
                    type=exc.spec.type,
                    code=exc.spec.code,
                    error_data=ErrorData(details=exc.details),
                    fbtrace_id=secrets.token_urlsafe(12),
                )
            ],
        )
        for ref, exc in outcome.failed
    ]
    result = (
        BlockUsersResult(removed_users=done, failed_users=failed)
        if removed
        else BlockUsersResult(added_users=done, failed_users=failed)
    )
    return BlockUsersResponse(block_users=result)


TEMPLATE_FIELDS = frozenset(TemplateEntry.__struct_fields__) - {"id"}


def template_out(t: TemplateRecord, fields: frozenset[str] = TEMPLATE_FIELDS) -> TemplateEntry:
    """A template as Graph answers it: every member, or the ``fields`` asked for (``id`` always)."""
    full = TemplateEntry(
        id=t.id,
        name=t.name,
        language=t.language,
        category=t.category.value,
        status=t.status.value,
        parameter_format=t.parameter_format,
        components=msgspec.Raw(t.components.encode()),
        quality_score=QualityScore(score=t.quality.value, date=t.updated_at // 1000),
        rejected_reason=t.rejected_reason or "NONE",
    )
    if fields == TEMPLATE_FIELDS:
        return full
    return TemplateEntry(id=t.id, **{f: getattr(full, f) for f in fields & TEMPLATE_FIELDS})


def fields_of(request: Request) -> frozenset[str]:
    raw = request.query_params.get("fields")
    if not raw:
        return TEMPLATE_FIELDS
    return frozenset(f.strip() for f in raw.split(",") if f.strip())


def cursor_of(t: TemplateRecord) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([t.name, t.language])).decode().rstrip("=")


def after_of(request: Request) -> tuple[str, str] | None:
    raw = request.query_params.get("after")
    if not raw:
        return None
    try:
        pair = msgspec.json.decode(
            base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), type=tuple[str, str]
        )
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise CloudBodyError("after", "is not a cursor this server gave") from None
    return pair


def limit_of(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return 25
    if not raw.isdigit():
        raise CloudBodyError("limit", "must be a whole number")
    return int(raw[:6])
