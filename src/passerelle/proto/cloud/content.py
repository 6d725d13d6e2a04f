"""Business messages inside the end-to-end encryption (docs/business.md section 6): how a Cloud API
message the bot sent travels to a person's device, and how a person's answer to it comes back.

A business message's encrypted content (``p.msg``, section 6 of docs/protocol.md) carries, beside its
plain-text ``body``, a ``cloud`` object: ``{"type": <kind>, <kind>: {...}}`` with the member exactly as
the bot sent it (``interactive``, ``location``, ``contacts``), nulls left out; a template travels
rendered (``server.endpoint.cloud``: its components as the person sees them, docs/business.md
section 6). ``body``
is its plain-text rendering (``render``), which an app that shows only text shows. A person's tap
on a reply button or a list row is a message whose ``cloud`` is ``{"type": "interactive",
"interactive": {"type": "button_reply" | "list_reply", ...}}`` and whose ``body`` is the title (a
template's quick reply: ``{"type": "button", "button": {"payload", "text"}}``); a
shared location or contact card is ``{"type": "location" | "contacts", ...}``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from passerelle.proto.cloud.messages import Contact, Interactive, Location, MessageRequest

CLOUD_KINDS: Final = frozenset({"interactive", "location", "contacts", "template"})
"""The kinds whose member travels as the content's ``cloud`` object."""


def cloud_object(req: MessageRequest, kind: str) -> dict[str, Any] | None:
    """The ``cloud`` object of a bot's message (None for kinds that are plain text or reactions)."""
    if kind not in CLOUD_KINDS:
        return None
    member = getattr(req, kind)
    return {"type": kind, kind: msgspec.to_builtins(member)}


def render(req: MessageRequest, kind: str) -> str:
    """The plain-text rendering of a bot's message, for apps that show only text."""
    if kind == "text" and req.text is not None:
        return req.text.body or ""
    if kind == "interactive" and req.interactive is not None:
        return _render_interactive(req.interactive)
    if kind == "location" and req.location is not None:
        return _render_location(req.location)
    if kind == "contacts" and req.contacts:
        return "\n".join(_render_contact(c) for c in req.contacts)
    if kind == "template" and req.template is not None:
        return f"[{req.template.name or 'template'}]"
    return ""


def _render_interactive(item: Interactive) -> str:
    lines: list[str] = []
    if item.header is not None and item.header.text:
        lines.append(item.header.text)
    if item.body is not None and item.body.text:
        lines.append(item.body.text)
    action = item.action
    if action is not None:
        for button in action.buttons or ():
            if button.reply is not None and button.reply.title:
                lines.append(f"[{button.reply.title}]")
        for section in action.sections or ():
            if section.title:
                lines.append(section.title)
            for row in section.rows or ():
                lines.append(f"• {row.title or ''}" + (f" — {row.description}" if row.description else ""))
        if action.parameters is not None:
            lines.append(f"{action.parameters.display_text or ''}: {action.parameters.url or ''}")
    if item.footer is not None and item.footer.text:
        lines.append(item.footer.text)
    return "\n".join(lines)


def _render_location(place: Location) -> str:
    where = ", ".join(p for p in (place.name, place.address) if p)
    return f"📍 {where + ' ' if where else ''}({place.latitude}, {place.longitude})"


def _render_contact(card: Contact) -> str:
    name = card.name.formatted_name if card.name is not None and card.name.formatted_name else "contact"
    phones = ", ".join(p.phone for p in card.phones or () if p.phone)
    return f"👤 {name}" + (f" {phones}" if phones else "")


def choices(cloud: dict[str, Any] | None) -> dict[str, tuple[str, str, str | None]]:
    """What a person may tap in a business's interactive message: id → (reply type, title,
    description). Empty for anything else."""
    if cloud and cloud.get("type") == "template":  # a template's quick replies, by payload
        template = cloud.get("template") or {}
        return {
            str(c["payload"]): ("button", str(c.get("text", "")), None)
            for c in template.get("components") or ()
            if c.get("button") == "QUICK_REPLY" and c.get("payload")
        }
    if not cloud or cloud.get("type") != "interactive":
        return {}
    item = cloud.get("interactive") or {}
    action = item.get("action") or {}
    found: dict[str, tuple[str, str, str | None]] = {}
    if item.get("type") == "button":
        for button in action.get("buttons") or ():
            reply = button.get("reply") or {}
            if reply.get("id"):
                found[str(reply["id"])] = ("button_reply", str(reply.get("title", "")), None)
    elif item.get("type") == "list":
        for section in action.get("sections") or ():
            for row in section.get("rows") or ():
                if row.get("id"):
                    found[str(row["id"])] = ("list_reply", str(row.get("title", "")), row.get("description"))
    return found


def interactive_reply(kind: str, choice_id: str, title: str, description: str | None) -> dict[str, Any]:
    """The ``cloud`` object of a person's tap (``button``: a template's quick reply, whose id is
    its payload)."""
    if kind == "button":
        return {"type": "button", "button": {"payload": choice_id, "text": title}}
    reply: dict[str, Any] = {"id": choice_id, "title": title}
    if description is not None:
        reply["description"] = description
    return {"type": "interactive", "interactive": {"type": kind, kind: reply}}


INTERACTIVE_FEATURE: Final = "interactive"
"""The app feature of reply buttons, lists and quick replies (docs/protocol.md section 11.3)."""
NUMBER_PROMPT: Final = "Reply with the number of your choice."
MAX_TYPED_CHOICE: Final = 20


def numbered(cloud: dict[str, Any] | None, body: str) -> str | None:
    """The readable fallback of a business's buttons, list or quick replies for an app that shows
    none: the text, each choice numbered in order, and how to answer. None when ``cloud`` offers
    no choice."""
    found = choices(cloud)
    if not found:
        return None
    lines: list[str] = []
    if cloud and cloud.get("type") == "interactive":
        item = cloud.get("interactive") or {}
        for part in ("header", "body"):
            text = (item.get(part) or {}).get("text")
            if text:
                lines.append(str(text))
    else:  # a template: its rendered text, without the quick replies' own lines
        lines.extend(line for line in body.splitlines() if not line.startswith("["))
    for n, (_kind, title, description) in enumerate(found.values(), start=1):
        lines.append(f"{n}. {title}" + (f" — {description}" if description else ""))
    if cloud and cloud.get("type") == "interactive":
        footer = ((cloud.get("interactive") or {}).get("footer") or {}).get("text")
        if footer:
            lines.append(str(footer))
    lines.append(NUMBER_PROMPT)
    return "\n".join(lines)


def typed_choice(cloud: dict[str, Any] | None, text: str) -> str | None:
    """The id of the choice a person typed as its number (``" 2 "`` → the second), or None."""
    typed = text.strip().rstrip(".)")
    if not typed.isascii() or not typed.isdigit() or len(typed) > 2:
        return None
    ids = list(choices(cloud))
    n = int(typed)
    return ids[n - 1] if 1 <= n <= min(len(ids), MAX_TYPED_CHOICE) else None
