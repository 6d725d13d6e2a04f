"""What a valid ``POST /{phone_number_id}/messages`` body is, beyond its declared shape: which
members a type needs, exactly one recipient, unique button and row ids, a template's components.

``check_message_request`` returns a ``CheckedMessage`` (a message to send) or a ``CheckedRead``
(``status: read``), or raises ``CloudBodyError`` naming the first wrong field. Rules from the Cloud
API as bots meet them (../shared/reference/cloud-api.md sections 2 and 6.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from passerelle.proto.cloud.commerce_checks import COMMERCE_TYPES, check_commerce_interactive
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import (
    Contact,
    Interactive,
    Media,
    MessageRequest,
    Template,
    TemplateComponent,
    TemplateParameter,
)

MessageKind = Literal[
    "text",
    "interactive",
    "template",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
]
KINDS: Final[frozenset[str]] = frozenset(MessageKind.__args__)  # type: ignore[attr-defined]
MEDIA_KINDS: Final = frozenset({"image", "video", "audio", "document", "sticker"})
INTERACTIVE_TYPES: Final = frozenset({"button", "list", "cta_url"})
HEADER_TYPES: Final = frozenset({"text", "image", "video", "document"})
COMPONENT_TYPES: Final = frozenset({"header", "body", "footer", "button"})
BUTTON_SUB_TYPES: Final = frozenset({"quick_reply", "url", "copy_code", "flow", "catalog", "voice_call"})
PARAMETER_TYPES: Final = frozenset(
    {"text", "payload", "image", "video", "document", "currency", "date_time", "coupon_code", "action"}
)
USER_ID: Final = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?\d{1,128}$")
PHONE_PUNCTUATION: Final = re.compile(r"[\s+\-().]")
MAX_WA_ID_DIGITS: Final = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedMessage:
    kind: MessageKind
    to: str | None
    """The ``to`` member as digits only (the ``wa_id`` it names), when the bot used ``to``."""
    recipient: str | None
    """The ``recipient`` member (a ``user_id``), when the bot used it."""
    input: str
    """What the bot wrote, echoed in the response's ``contacts[0].input``."""
    reply_to: str | None
    template: tuple[str, str] | None
    """(name, language code) of a template."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedRead:
    message_id: str
    typing: bool


def check_message_request(req: MessageRequest) -> CheckedMessage | CheckedRead:
    if req.messaging_product != "whatsapp":
        raise CloudBodyError("messaging_product", "must be 'whatsapp'")
    if req.status is not None:
        return _check_read(req)
    to, recipient, given = _recipient(req)
    kind = req.type if req.type is not None else "text"
    if kind not in KINDS:
        raise CloudBodyError("type", f"must be one of {', '.join(sorted(KINDS))}")
    _check_member(req, kind)
    reply_to = None
    if req.context is not None:
        if not req.context.message_id:
            raise CloudBodyError("context.message_id", "is required in a reply")
        reply_to = req.context.message_id
    template = None
    if kind == "template" and req.template is not None:
        template = (req.template.name or "", _language(req.template))
    return CheckedMessage(
        kind=kind,  # type: ignore[arg-type]  # checked against KINDS above
        to=to,
        recipient=recipient,
        input=given,
        reply_to=reply_to,
        template=template,
    )


def normalize_wa_id(raw: str) -> str | None:
    """``+1 555-123-4567`` → ``15551234567``; None when what is left is not 1 to 20 digits."""
    digits = PHONE_PUNCTUATION.sub("", raw)
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_WA_ID_DIGITS:
        return None
    return digits


def _check_read(req: MessageRequest) -> CheckedRead:
    if req.status != "read":
        raise CloudBodyError("status", "must be 'read'")
    if not req.message_id:
        raise CloudBodyError("message_id", "is required with status 'read'")
    typing = req.typing_indicator is not None
    if req.typing_indicator is not None and req.typing_indicator.type != "text":
        raise CloudBodyError("typing_indicator.type", "must be 'text'")
    return CheckedRead(message_id=req.message_id, typing=typing)


def _recipient(req: MessageRequest) -> tuple[str | None, str | None, str]:
    if req.recipient_type not in (None, "individual"):
        raise CloudBodyError("recipient_type", "must be 'individual' (groups are not supported)")
    if req.to is not None and req.recipient is not None:
        raise CloudBodyError("recipient", "give either to or recipient, not both")
    if req.recipient is not None:
        if not USER_ID.match(req.recipient):
            raise CloudBodyError("recipient", "must be a user_id like ZZ.1234567890123456789")
        return None, req.recipient, req.recipient
    if req.to is None or not req.to.strip():
        raise CloudBodyError("to", "is required (or recipient)")
    digits = normalize_wa_id(req.to)
    if digits is None:
        raise CloudBodyError("to", "must be a wa_id: digits, optionally written with + - ( ) and spaces")
    return digits, None, req.to


def _check_member(req: MessageRequest, kind: str) -> None:
    member = getattr(req, kind)
    if member is None or (kind == "contacts" and not member):
        raise CloudBodyError(kind, f"is required when type is '{kind}'")
    if kind == "text":
        if req.text is None or not req.text.body:
            raise CloudBodyError("text.body", "is required")
    elif kind in MEDIA_KINDS:
        _check_media(member, kind)
    elif kind == "location":
        if req.location is None or req.location.latitude is None:
            raise CloudBodyError("location.latitude", "is required")
        if req.location.longitude is None:
            raise CloudBodyError("location.longitude", "is required")
    elif kind == "reaction":
        if req.reaction is None or not req.reaction.message_id:
            raise CloudBodyError("reaction.message_id", "is required")
        if req.reaction.emoji is None:
            raise CloudBodyError("reaction.emoji", "is required ('' removes the reaction)")
    elif kind == "contacts":
        _check_contacts(member)
    elif kind == "interactive":
        _check_interactive(member)
    elif kind == "template":
        _check_template(member)


def _check_media(media: Media, where: str) -> None:
    if (media.id is None) == (media.link is None):
        raise CloudBodyError(f"{where}.id", "give exactly one of id and link")
    if media.link is not None and not media.link.startswith(("https://", "http://")):
        raise CloudBodyError(f"{where}.link", "must be an http(s) URL")


def _check_contacts(contacts: list[Contact]) -> None:
    for i, contact in enumerate(contacts):
        if contact.name is None or not contact.name.formatted_name:
            raise CloudBodyError(f"contacts[{i}].name.formatted_name", "is required")


def _check_interactive(item: Interactive) -> None:
    if item.type in COMMERCE_TYPES:
        check_commerce_interactive(item)
        return
    if item.type not in INTERACTIVE_TYPES:
        raise CloudBodyError(
            "interactive.type", f"must be one of {', '.join(sorted(INTERACTIVE_TYPES | COMMERCE_TYPES))}"
        )
    if item.body is None or not item.body.text:
        raise CloudBodyError("interactive.body.text", "is required")
    if item.header is not None:
        _check_header(item)
    if item.action is None:
        raise CloudBodyError("interactive.action", "is required")
    action = item.action
    if item.type == "button":
        buttons = action.buttons or []
        if not buttons:
            raise CloudBodyError("interactive.action.buttons", "needs 1 to 3 buttons")
        seen: set[str] = set()
        for i, button in enumerate(buttons):
            where = f"interactive.action.buttons[{i}]"
            if button.type not in (None, "reply"):
                raise CloudBodyError(f"{where}.type", "must be 'reply'")
            if button.reply is None or not button.reply.id:
                raise CloudBodyError(f"{where}.reply.id", "is required")
            if not button.reply.title:
                raise CloudBodyError(f"{where}.reply.title", "is required")
            if button.reply.id in seen:
                raise CloudBodyError(f"{where}.reply.id", "must be unique")
            seen.add(button.reply.id)
    elif item.type == "list":
        _check_list(item)
    else:
        if action.name not in (None, "cta_url"):
            raise CloudBodyError("interactive.action.name", "must be 'cta_url'")
        params = action.parameters
        if params is None or not params.display_text:
            raise CloudBodyError("interactive.action.parameters.display_text", "is required")
        if not params.url or not params.url.startswith(("https://", "http://")):
            raise CloudBodyError("interactive.action.parameters.url", "must be an http(s) URL")


def _check_header(item: Interactive) -> None:
    header = item.header
    assert header is not None
    if header.type not in HEADER_TYPES:
        raise CloudBodyError("interactive.header.type", "must be one of document, image, text, video")
    if header.type == "text":
        if not header.text:
            raise CloudBodyError("interactive.header.text", "is required")
        return
    media = getattr(header, header.type)
    if media is None:
        raise CloudBodyError(f"interactive.header.{header.type}", "is required")
    _check_media(media, f"interactive.header.{header.type}")


def _check_list(item: Interactive) -> None:
    action = item.action
    assert action is not None
    if not action.button:
        raise CloudBodyError("interactive.action.button", "is required")
    sections = action.sections or []
    if not sections:
        raise CloudBodyError("interactive.action.sections", "needs 1 to 10 sections")
    rows = 0
    seen: set[str] = set()
    for s, section in enumerate(sections):
        where = f"interactive.action.sections[{s}]"
        if len(sections) > 1 and not section.title:
            raise CloudBodyError(f"{where}.title", "is required when there are several sections")
        if not section.rows:
            raise CloudBodyError(f"{where}.rows", "needs at least one row")
        for r, row in enumerate(section.rows):
            rows += 1
            if rows > 10:
                raise CloudBodyError("interactive.action.sections", "may hold at most 10 rows in all")
            if not row.id:
                raise CloudBodyError(f"{where}.rows[{r}].id", "is required")
            if not row.title:
                raise CloudBodyError(f"{where}.rows[{r}].title", "is required")
            if row.id in seen:
                raise CloudBodyError(f"{where}.rows[{r}].id", "must be unique")
            seen.add(row.id)


def _language(template: Template) -> str:
    return template.language.code if template.language is not None and template.language.code else ""


def _check_template(template: Template) -> None:
    if not template.name:
        raise CloudBodyError("template.name", "is required")
    if not _language(template):
        raise CloudBodyError("template.language.code", "is required")
    for c, component in enumerate(template.components or []):
        _check_component(component, f"template.components[{c}]")


def _check_component(component: TemplateComponent, where: str) -> None:
    kind = (component.type or "").lower()
    if kind not in COMPONENT_TYPES:
        raise CloudBodyError(f"{where}.type", "must be one of body, button, footer, header")
    if kind == "button":
        if (component.sub_type or "").lower() not in BUTTON_SUB_TYPES:
            raise CloudBodyError(f"{where}.sub_type", "must name the button's type (QUICK_REPLY, URL, …)")
        if component.index is None or not str(component.index).isdigit():
            raise CloudBodyError(f"{where}.index", "must be the button's position, 0 to 9")
    for p, parameter in enumerate(component.parameters or []):
        _check_parameter(parameter, f"{where}.parameters[{p}]")


def _check_parameter(parameter: TemplateParameter, where: str) -> None:
    kind = parameter.type
    if kind not in PARAMETER_TYPES:
        raise CloudBodyError(f"{where}.type", f"must be one of {', '.join(sorted(PARAMETER_TYPES))}")
    if kind in ("coupon_code", "action"):
        return
    value = getattr(parameter, kind)
    if value is None or value == "":
        raise CloudBodyError(f"{where}.{kind}", f"is required when type is '{kind}'")
    if kind in ("image", "video", "document"):
        _check_media(value, f"{where}.{kind}")


def template_parameter_count(template: Template) -> dict[str, int]:
    """The parameters given per component (``body``, ``header``, ``button:<index>``), to compare with
    the template's placeholders (a mismatch is error 132000)."""
    counts: dict[str, int] = {}
    for component in template.components or []:
        kind = (component.type or "").lower()
        key = f"button:{component.index}" if kind == "button" else kind
        counts[key] = counts.get(key, 0) + len(component.parameters or [])
    return counts
