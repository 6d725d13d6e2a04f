"""How the server judges a business's send on the metadata the endpoint declares (docs/business.md
section 5), in order: blocks, the window, the template, consent, the messaging limit. Throughput and
the pair rate are token buckets applied by the service around this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from passerelle.domain.business.consent import SCOPE_OF, Category, Scope
from passerelle.domain.business.errors import Failure
from passerelle.domain.business.quality import TemplateStatus
from passerelle.domain.business.tiers import Tier, within_limit

KINDS: Final = frozenset(
    {
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
        "status",
    }
)
"""The kinds an endpoint may declare (docs/business.md section 5); ``status`` is a read mark or a
typing indicator."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendFacts:
    """What the store knows when a send arrives."""

    kind: str
    """The declared kind (``text``, ``template``, …, or ``status`` for read marks and typing)."""
    blocked: bool
    """Either side blocked the other."""
    window_open: bool
    template_status: TemplateStatus | None
    """None when the named template does not exist (or the kind is not ``template``)."""
    category: Category | None
    granted: frozenset[Scope]
    """The scopes the person has granted this business and not revoked."""
    marketing_stopped: bool
    """The person revoked the marketing scope (STOP), as opposed to never granting it."""
    tier: Tier
    reached_24h: int
    already_reached: bool
    """The person was reached outside a window in the last 24 hours (does not count again)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    failure: Failure | None
    counts_against_limit: bool
    """The send reaches a new person outside a window: one more against the tier."""


ALLOWED = Verdict(None, counts_against_limit=False)


def judge(facts: SendFacts) -> Verdict:
    if facts.blocked:
        return Verdict(Failure.UNDELIVERABLE, counts_against_limit=False)
    if facts.kind == "template" and facts.template_status is not TemplateStatus.APPROVED:
        return Verdict(_template_failure(facts.template_status), counts_against_limit=False)
    if facts.kind == "template" and facts.category is Category.MARKETING and facts.marketing_stopped:
        # A stop holds inside the window too: in-window replies and other categories still go.
        return Verdict(Failure.MARKETING_STOPPED, counts_against_limit=False)
    if facts.window_open:
        return ALLOWED
    if facts.kind != "template":
        return Verdict(Failure.OUTSIDE_WINDOW, counts_against_limit=False)
    assert facts.category is not None
    scope = SCOPE_OF[facts.category]
    if scope not in facts.granted:
        if scope is Scope.MARKETING and facts.marketing_stopped:
            return Verdict(Failure.MARKETING_STOPPED, counts_against_limit=False)
        return Verdict(Failure.NO_CONSENT, counts_against_limit=False)
    if facts.already_reached:
        return ALLOWED
    if not within_limit(facts.tier, facts.reached_24h):
        return Verdict(Failure.MESSAGING_LIMIT, counts_against_limit=False)
    return Verdict(None, counts_against_limit=True)


def _template_failure(status: TemplateStatus | None) -> Failure:
    if status is TemplateStatus.PAUSED:
        return Failure.TEMPLATE_PAUSED
    if status is TemplateStatus.DISABLED:
        return Failure.TEMPLATE_DISABLED
    return Failure.TEMPLATE_UNKNOWN
