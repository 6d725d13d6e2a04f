"""What a person tells the network about a business (docs/business.md section 5): a report with a
reason, and the check a person's device makes of a business's message against what the business's
endpoint declared to the server (a lying endpoint is caught by the customer's device).

``observed`` reads the decrypted content's own description of itself (its Cloud API ``type`` and,
for a template, its name, language and category); ``mismatch`` compares it with the declaration
the server delivered beside the envelope. Only kinds and template names travel back to the server
in a mismatch report, never the content."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from passerelle.domain.business.sends import KINDS


class ReportReason(enum.StrEnum):
    """Why a person reports a business (a closed list: the server keeps no free text)."""

    SPAM = "spam"
    SCAM = "scam"
    OFFENSIVE = "offensive"
    UNWANTED = "unwanted"
    """Messages the person did not ask for."""
    OTHER = "other"
    MISMATCH = "mismatch"
    """Sent by the person's device itself: the content did not match the declared kind."""


REPORT_WINDOW_MS: Final = 24 * 3600 * 1000
"""One report (and one mismatch report) per person per business per day."""

MEDIA_MSGTYPES: Final = frozenset({"image", "video", "file", "voice"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Described:
    """A business message as declared (by the endpoint, to the server) or as observed (on the
    person's device, after decryption): its Cloud API kind and, for a template, its name, language
    and category."""

    kind: str
    template: str | None = None
    language: str | None = None
    category: str | None = None


def observed(*, msgtype: str, cloud: Mapping[str, Any] | None, has_attachment: bool) -> Described:
    """What the decrypted content of a business's message says it is."""
    if msgtype == "reaction":
        return Described(kind="reaction")
    kind = cloud.get("type") if cloud is not None else None
    if not isinstance(kind, str) or kind not in KINDS:
        return Described(kind="media" if has_attachment or msgtype in MEDIA_MSGTYPES else "text")
    if kind == "template":
        template = cloud.get("template") if cloud is not None else None
        t: Mapping[str, Any] = template if isinstance(template, Mapping) else {}
        return Described(
            kind=kind,
            template=_text(t.get("name")),
            language=_text(t.get("language")),
            category=_text(t.get("category")),
        )
    return Described(kind=kind)


def mismatch(declared: Described, seen: Described) -> str | None:
    """Why the content does not match the declaration (None when it does)."""
    if declared.kind == "status":
        return "a read mark or typing indicator carried a message"
    if declared.kind != seen.kind:
        media = declared.kind in ("image", "video", "audio", "document", "sticker")
        if not (media and seen.kind == "media"):  # media content names its kind in ``cloud``
            return f"declared {declared.kind}, the content is {seen.kind}"
    if declared.kind != "template":
        return None
    if declared.template != seen.template or declared.language != seen.language:
        return "the content is another template than the one declared"
    if declared.category is not None and seen.category is not None and declared.category != seen.category:
        return f"the template's category is {declared.category}, the content says {seen.category}"
    return None


def _text(value: object) -> str | None:
    return value[:512] if isinstance(value, str) else None
