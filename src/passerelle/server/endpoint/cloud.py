"""The Cloud API ⇄ the network's content, for the business endpoint: pure translation, no I/O.

- The bot's side: a checked ``MessageRequest`` becomes the ``TextContent`` the person's devices
  decrypt (its text as the person's app shows it, and its ``cloud`` object); a template, read from the
  server's record, is rendered as the person sees it.
- The customers' side: a person's message (its ``cloud`` object, or its attachment once kept for the
  bot) becomes an ``InboundMessage``; messages and statuses are wrapped in the webhook's ``Value``.
- Message ids the bot sees: ``wamid.B…`` for the business's own messages (the content's id, the same
  on every device), ``wamid.P<server id>`` for a customer's (so a reply or a read receipt finds it
  again after a restart, from the local history).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import msgspec

from passerelle.domain.business.consent import Category
from passerelle.domain.business.errors import ERRORS, CloudApiError, Failure
from passerelle.domain.business.templates import render as render_template
from passerelle.proto.cloud.content import cloud_object, render
from passerelle.proto.cloud.messages import Contact, Location, Media, MessageRequest
from passerelle.proto.cloud.webhooks import (
    ButtonReply,
    InboundButton,
    InboundContext,
    InboundInteractive,
    InboundMedia,
    InboundMessage,
    InboundText,
    ListReply,
    Metadata,
    Profile,
    Status,
    StatusError,
    StatusErrorData,
    Value,
    WebhookContact,
)
from passerelle.proto.rest.business import BusinessPersonOut, EndpointNumber, EndpointTemplateOut
from passerelle.sdk.events import Message
from passerelle.sdk.media.api import fallback_text
from passerelle.sdk.schema import Attachment, ReplyRef, TextContent
from passerelle.server.endpoint.media import KINDS, SDK_KIND, Kind, Stored

OUT_PREFIX = "wamid.B"
IN_PREFIX = "wamid.P"
UNSENDABLE = frozenset({"PENDING", "REJECTED"})
"""Statuses a send sees as no template (132001); the server judges the others (132015, 132016)."""

# -- the bot's sends → content ----------------------------------------------------------------------


def text_content(req: MessageRequest, kind: str, wamid: str, reply: ReplyRef | None) -> TextContent:
    """A text, interactive, location or contacts message as the person's devices receive it."""
    return TextContent(
        id=wamid, ts=now_ms(), body=render(req, kind), in_reply_to=reply, cloud=cloud_object(req, kind)
    )


def reaction_content(req: MessageRequest, wamid: str, target: ReplyRef) -> TextContent:
    reaction = req.reaction
    assert reaction is not None
    return TextContent(
        id=wamid, ts=now_ms(), body=reaction.emoji or "", msgtype="reaction", in_reply_to=target
    )


def media_member(req: MessageRequest, kind: str) -> tuple[Media, Kind]:
    """The image, video, audio, document or sticker a send carries, and its kind's rules."""
    member = getattr(req, kind)
    assert isinstance(member, Media)
    spec = KINDS[kind]
    if member.caption is not None and not spec.caption:
        raise CloudApiError(
            Failure.INVALID_PARAMETER,
            f"is not allowed: {kind} messages have no caption",
            field=f"{kind}.caption",
        )
    return member, spec


def check_media_type(item: Stored, kind: str, spec: Kind) -> None:
    """An uploaded media sent by ``id`` as a kind its type does not fit."""
    if item.mime not in spec.mimes and kind != "document":
        raise CloudApiError(
            Failure.INVALID_PARAMETER,
            f"is a {item.mime} media; a {kind} must be " + " or ".join(sorted(spec.mimes)),
            field=f"{kind}.id",
        )


def media_content(
    member: Media, kind: str, item: Stored, blob: str, wamid: str, reply: ReplyRef | None
) -> TextContent:
    """The person's attachment: the ciphertext on the server (``blob``), its key in the content."""
    filename = member.filename or item.filename or ""
    sdk_kind = SDK_KIND[kind]
    attachment = Attachment(
        kind=sdk_kind,
        blob=blob,
        mime=item.mime,
        size=item.size,
        key=item.key,
        nonce=item.nonce,
        sha256=item.blob_sha256,
        name=filename if kind in ("document", "audio") else "",
    )
    shown: dict[str, Any] = {"mime_type": item.mime}
    if member.caption:
        shown["caption"] = member.caption
    if kind == "document" and filename:
        shown["filename"] = filename
    return TextContent(
        id=wamid,
        ts=now_ms(),
        body=member.caption or fallback_text(sdk_kind, attachment.name, None),
        msgtype=sdk_kind,
        attachment=attachment,
        in_reply_to=reply,
        cloud={"type": kind, kind: shown},
    )


def template_content(
    template: EndpointTemplateOut | None, req: MessageRequest, name: str, language: str
) -> tuple[str, dict[str, Any]]:
    """The template as the person sees it (its plain text and its ``cloud`` object); 132001 when the
    business has no such template that a send may use, 132000 when the parameters do not match its
    placeholders."""
    if template is None or template.status in UNSENDABLE:
        details = f"template name ({name[:64]}) does not exist in {language[:16]}"
        raise CloudApiError(Failure.TEMPLATE_UNKNOWN, details)
    assert req.template is not None
    sent = msgspec.to_builtins(req.template.components or [])
    parts = render_template(
        components=msgspec.json.decode(template.components),
        parameter_format=template.parameter_format,
        category=Category(template.category),
        sent=sent,
    )
    payloads = quick_reply_payloads(sent)
    shown: list[dict[str, Any]] = []
    lines: list[str] = []
    for part in parts:
        item = {k: v for k, v in dataclasses.asdict(part).items() if v is not None and v != ""}
        if part.button == "QUICK_REPLY" and part.index is not None:
            item["payload"] = payloads.get(part.index, part.text)
        shown.append(item)
        if part.type == "BUTTON":
            lines.append(f"[{part.text}]")
        elif part.text:
            lines.append(part.text)
    cloud = {
        "type": "template",
        "template": {
            "name": name,
            "language": language,
            "category": template.category,
            "components": shown,
        },
    }
    return "\n".join(lines), cloud


def quick_reply_payloads(sent: list[Any]) -> dict[int, str]:
    """The payloads a send gives its quick-reply buttons, by button index."""
    found: dict[int, str] = {}
    for component in sent:
        if not isinstance(component, dict) or str(component.get("type", "")).lower() != "button":
            continue
        for parameter in component.get("parameters") or []:
            payload = parameter.get("payload") if isinstance(parameter, dict) else None
            index = str(component.get("index", ""))
            if isinstance(payload, str) and index.isdigit():
                found[int(index)] = payload
    return found


# -- customers' messages → webhooks -----------------------------------------------------------------


def inbound_base(
    message: Message, person: BusinessPersonOut, number: EndpointNumber, business: str
) -> dict[str, Any]:
    """The members every inbound message has (and its ``context`` when it replies to the business,
    whose account id is ``business``)."""
    base: dict[str, Any] = {
        "from_": person.wa_id,
        "id": f"{IN_PREFIX}{message.id}",
        "timestamp": str(message.ts // 1000),
    }
    ref = message.reply_to
    if ref is not None and ref.sender == business:
        base["context"] = InboundContext(from_=number.display_phone_number, id=ref.id)
    return base


def inbound_cloud(message: Message, base: dict[str, Any]) -> InboundMessage | None:
    """A person's interactive reply, quick reply, location or contacts (their ``cloud`` object); None
    for the others (an attachment, or a text)."""
    cloud = message.cloud or {}
    kind = cloud.get("type")
    if kind == "interactive":
        reply = cloud.get("interactive") or {}
        reply_type = reply.get("type")
        if reply_type == "button_reply":
            button = msgspec.convert(reply.get("button_reply"), ButtonReply)
            return InboundMessage(
                type="interactive",
                interactive=InboundInteractive(type="button_reply", button_reply=button),
                **base,
            )
        if reply_type == "list_reply":
            row = msgspec.convert(reply.get("list_reply"), ListReply)
            return InboundMessage(
                type="interactive",
                interactive=InboundInteractive(type="list_reply", list_reply=row),
                **base,
            )
    if kind == "button":  # a template's quick reply
        tapped = cloud.get("button") or {}
        quick = InboundButton(payload=str(tapped.get("payload", "")), text=str(tapped.get("text", "")))
        return InboundMessage(type="button", button=quick, **base)
    if kind == "location":
        return InboundMessage(
            type="location", location=msgspec.convert(cloud.get("location"), Location), **base
        )
    if kind == "contacts":
        cards = msgspec.convert(cloud.get("contacts"), list[Contact])
        return InboundMessage(type="contacts", contacts=cards, **base)
    return None


def inbound_text(message: Message, base: dict[str, Any]) -> InboundMessage:
    return InboundMessage(type="text", text=InboundText(body=message.text), **base)


def inbound_media(message: Message, item: Stored) -> Callable[[dict[str, Any]], InboundMessage]:
    """A person's photo, video, voice note or file, kept for the bot as ``item``."""
    att = message.attachment
    assert att is not None
    if att.kind == "voice" or (att.kind == "file" and att.mime.startswith("audio/")):
        kind = "audio"
    elif att.kind == "image":
        kind = "sticker" if att.mime == "image/webp" else "image"
    elif att.kind == "video":
        kind = "video"
    else:
        kind = "document"
    caption = message.text if message.text != fallback_text(att.kind, att.name, att.duration_ms) else None
    inbound = InboundMedia(
        id=item.id,
        mime_type=item.mime,
        sha256=item.sha256,
        caption=caption if kind in ("image", "video", "document") else None,
        filename=(att.name or None) if kind == "document" else None,
    )

    def build(base: dict[str, Any]) -> InboundMessage:
        members: dict[str, Any] = {kind: inbound, **base}
        return InboundMessage(type=kind, **members)

    return build


def message_value(
    number: EndpointNumber, person: BusinessPersonOut, name: str, inbound: InboundMessage
) -> Value:
    """A person's message (shown with their ``name``) as a webhook's value."""
    return Value(
        metadata=metadata(number),
        contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id, profile=Profile(name=name))],
        messages=[inbound],
    )


def status_value(
    number: EndpointNumber,
    person: BusinessPersonOut,
    wamid: str,
    status: str,
    ts: int,
    tracker: str | None,
    errors: list[StatusError] | None = None,
) -> Value:
    """One of the business's messages sent, delivered, read or failed (with ``errors``), as a
    webhook's value."""
    return Value(
        metadata=metadata(number),
        contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id)],
        statuses=[
            Status(
                id=wamid,
                status=status,
                timestamp=str(ts // 1000),
                recipient_id=person.wa_id,
                recipient_user_id=person.user_id,
                biz_opaque_callback_data=tracker,
                errors=errors,
            )
        ],
    )


def status_errors(failure: Failure, details: str) -> list[StatusError]:
    """A ``failed`` status's ``errors``, from the error table (docs/business.md section 7)."""
    spec = ERRORS[failure]
    return [
        StatusError(
            code=spec.code, title=spec.title, message=spec.title, error_data=StatusErrorData(details=details)
        )
    ]


def metadata(number: EndpointNumber) -> Metadata:
    return Metadata(display_phone_number=number.display_phone_number, phone_number_id=number.phone_number_id)


def failure(name: str) -> Failure:
    try:
        return Failure(name)
    except ValueError:
        return Failure.UNDELIVERABLE


def link_name(link: str) -> str | None:
    tail = link.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail[:240] or None


def now_ms() -> int:
    return int(time.time() * 1000)
