"""What a bot receives (docs/bots.md, "Handlers"): the Cloud API webhook payload of an endpoint
(../shared/reference/cloud-api.md section 4.5), parsed into one ``Update`` per message, status or
Passerelle event. Parsing is lenient on purpose: a member this module does not know is kept in
``raw`` (an ``order`` or a payment status reaches ``on_order`` / ``on_payment`` handlers as the
webhook's value), never an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})
HANDOFF_FIELD = "passerelle_handoffs"
"""The webhook ``field`` of a hand-off's change (docs/bots.md, "Hand-off")."""


@dataclass(frozen=True, slots=True)
class Customer:
    """A person, as this business knows them: the per-business ids (never their app)."""

    user_id: str
    wa_id: str
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """One event of a webhook: ``business`` is the business account (WABA) id of the entry,
    ``phone_number_id`` the number it came through."""

    business: str
    phone_number_id: str
    customer: Customer
    raw: dict[str, Any] = field(repr=False)
    """The event's own object (the message, the status ...) as the endpoint sent it."""
    value: dict[str, Any] = field(repr=False)
    """The whole webhook ``value`` (metadata, contacts and the event)."""


@dataclass(frozen=True, slots=True)
class Media:
    kind: str
    id: str
    mime_type: str
    caption: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Update):
    """A customer's message: ``type`` is the Cloud API's (``text``, ``image`` …, ``location``,
    ``order`` …). ``text`` is the text, a media's caption, or ''."""

    id: str
    type: str
    text: str
    timestamp: int
    media: Media | None = None
    reply_to: str | None = None
    """The id (``wamid``) of the business's message this one answers, if any."""

    @property
    def command(self) -> str | None:
        """``start`` for ``/start now``; None when the text is not a command."""
        if self.type != "text" or not self.text.startswith("/") or len(self.text) < 2:
            return None
        return self.text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice(Update):
    """A tap on one of the business's reply buttons, list rows or template quick replies: ``kind``
    is ``button_reply``, ``list_reply`` or ``button`` (a template's quick reply; ``id`` is its
    payload)."""

    id: str
    """The message id (``wamid``) of the tap."""
    choice: str
    """The button's or row's id (the quick reply's payload)."""
    title: str
    kind: str
    description: str | None = None
    reply_to: str | None = None
    timestamp: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(Update):
    """A customer's cart sent from a catalog (an inbound ``order`` message): ``items`` as sent
    (``product_retailer_id``, ``quantity``, ``item_price``, ``currency``). The business computes
    the total from its own catalog, never from ``item_price``."""

    id: str
    catalog_id: str
    text: str
    items: tuple[dict[str, Any], ...]
    timestamp: int = 0
    order_id: str | None = None
    """Passerelle: the order the server recorded from the business's catalog."""
    total: tuple[int, int] | None = None
    """Passerelle: the order's total as the server computed it, ``(value, offset)``: 1250, 2 is 12.50."""
    currency: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Update):
    """What became of one of the business's messages: ``sent``, ``delivered``, ``read``,
    ``failed``; a payment's status when the status carries a ``payment`` (see ``Payment``)."""

    id: str
    status: str
    errors: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Payment(Update):
    """A payment's status (``succeeded``, ``failed``, ``pending``, ``refunded`` …), as the
    endpoint's payment webhook carries it; ``raw`` has every member."""

    status: str
    """``pending``, ``succeeded``, ``failed`` or ``refunded``."""
    reference: str
    """The order's reference (``reference_id`` of the ``order_details`` payment request)."""
    amount: tuple[int, int] | None = None
    """``(value, offset)``."""
    currency: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOff(Update):
    """A hand-off of this customer changed on the server: ``status`` is ``open``, ``taken``,
    ``handed_back`` or ``resolved`` (docs/bots.md, "Hand-off")."""

    handoff_id: str
    status: str
    agent: str | None = None


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _amount(found: Any) -> tuple[int, int] | None:
    if isinstance(found, dict) and "value" in found:
        return _int(found.get("value")), _int(found.get("offset"))
    return None


def _customer(value: dict[str, Any], wa_id: str) -> Customer:
    for contact in value.get("contacts") or ():
        if isinstance(contact, dict) and (contact.get("wa_id") == wa_id or contact.get("user_id") == wa_id):
            profile = contact.get("profile") or {}
            return Customer(
                user_id=str(contact.get("user_id") or wa_id),
                wa_id=str(contact.get("wa_id") or wa_id),
                name=str(profile.get("name") or ""),
            )
    return Customer(user_id=wa_id, wa_id=wa_id)


def _message(base: dict[str, Any], msg: dict[str, Any]) -> Update:
    kind = str(msg.get("type", ""))
    context = msg.get("context") or {}
    reply_to = str(context["id"]) if isinstance(context, dict) and context.get("id") else None
    common: dict[str, Any] = {"id": str(msg.get("id", "")), "timestamp": _int(msg.get("timestamp"))}
    if kind == "interactive":
        item = msg.get("interactive") or {}
        sub = str(item.get("type", ""))
        reply = item.get(sub) or {}
        if sub in ("button_reply", "list_reply") and isinstance(reply, dict):
            return Choice(
                **base,
                **common,
                choice=str(reply.get("id", "")),
                title=str(reply.get("title", "")),
                kind=sub,
                description=reply.get("description"),
                reply_to=reply_to,
            )
    if kind == "button":
        button = msg.get("button") or {}
        return Choice(
            **base,
            **common,
            choice=str(button.get("payload", "")),
            title=str(button.get("text", "")),
            kind="button",
            reply_to=reply_to,
        )
    if kind == "order":
        order = msg.get("order") or {}
        return Order(
            order_id=str(order["order_id"]) if order.get("order_id") else None,
            total=_amount(order.get("total_amount")),
            currency=order.get("currency"),
            **base,
            **common,
            catalog_id=str(order.get("catalog_id", "")),
            text=str(order.get("text") or ""),
            items=tuple(i for i in order.get("product_items") or () if isinstance(i, dict)),
        )
    media = None
    text = ""
    if kind == "text":
        text = str((msg.get("text") or {}).get("body", ""))
    elif kind in MEDIA_KINDS:
        found = msg.get(kind) or {}
        media = Media(
            kind=kind,
            id=str(found.get("id", "")),
            mime_type=str(found.get("mime_type", "")),
            caption=found.get("caption"),
            filename=found.get("filename"),
        )
        text = str(found.get("caption") or "")
    return Message(**base, **common, type=kind, text=text, media=media, reply_to=reply_to)


def parse(payload: dict[str, Any]) -> list[Update]:
    """Every update of a webhook payload, in order; what is not understood is skipped."""
    found: list[Update] = []
    for entry in payload.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        business = str(entry.get("id", ""))
        for change in entry.get("changes") or ():
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            value: dict[str, Any] = change["value"]
            number = str((value.get("metadata") or {}).get("phone_number_id", ""))
            if change.get("field") == HANDOFF_FIELD:
                user = str(value.get("user_id", ""))
                found.append(
                    HandOff(
                        business=business,
                        phone_number_id=number,
                        customer=_customer(value, user),
                        raw=value,
                        value=value,
                        handoff_id=str(value.get("handoff_id", "")),
                        status=str(value.get("status", "")),
                        agent=value.get("agent"),
                    )
                )
                continue
            if change.get("field") != "messages":
                continue
            for msg in value.get("messages") or ():
                if isinstance(msg, dict):
                    who = _customer(value, str(msg.get("from", "")))
                    base: dict[str, Any] = {
                        "business": business,
                        "phone_number_id": number,
                        "customer": who,
                        "raw": msg,
                        "value": value,
                    }
                    found.append(_message(base, msg))
            for status in value.get("statuses") or ():
                if not isinstance(status, dict):
                    continue
                who = _customer(value, str(status.get("recipient_user_id") or status.get("recipient_id", "")))
                payment = status.get("payment")
                if status.get("type") == "payment" or isinstance(payment, dict):
                    pay = payment if isinstance(payment, dict) else {}
                    found.append(
                        Payment(
                            business=business,
                            phone_number_id=number,
                            customer=who,
                            raw=status,
                            value=value,
                            status=str(status.get("status", "")),
                            reference=str(pay.get("reference_id") or status.get("id", "")),
                            amount=_amount(pay.get("amount")),
                            currency=pay.get("currency"),
                        )
                    )
                    continue
                found.append(
                    Status(
                        business=business,
                        phone_number_id=number,
                        customer=who,
                        raw=status,
                        value=value,
                        id=str(status.get("id", "")),
                        status=str(status.get("status", "")),
                        errors=tuple(e for e in status.get("errors") or () if isinstance(e, dict)),
                    )
                )
    return found
