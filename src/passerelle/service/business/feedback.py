"""``BusinessFeedback``: a person's block of a business, their reports, and their device's
mismatch reports, turned into quality signals (docs/business.md sections 5 and 8).

Rules:
- A person's block of a business's network account (docs/protocol.md section 9.3, from any app:
  ``PUT /v1/blocks/{account}``, a declined request with ``block``, a report with ``block``) is a
  ``block`` signal against the business. The block itself is the privacy service's; sends to the
  person then fail with ``131026`` (``service.business.sends``).
- A report names the business and one reason of ``domain.business.feedback.ReportReason``; a
  ``mismatch`` (sent by the person's device, never typed) also gives the declared and the observed
  kind and template — metadata the server saw in the clear, never content.
- Only a person the business has ids for (one of them wrote to the other) may report it, and once
  per business per day per kind (``RateLimited`` otherwise): one person weighs at most one signal
  of each kind anyway (``BusinessSignals``), so the bound is on the work, and a report of a business
  the person never dealt with counts for nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from passerelle.domain.business.feedback import REPORT_WINDOW_MS, Described, ReportReason
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.business.quality import SignalKind
from passerelle.domain.business.sends import KINDS
from passerelle.domain.errors import InvalidInput, NotFound
from passerelle.domain.ids import AccountId
from passerelle.service.business.endpoint_ports import EndpointStore
from passerelle.service.business.evaluation import BusinessSignals
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import SignalRecord
from passerelle.service.limiter import RateLimiter

log = logging.getLogger("passerelle.business.feedback")

NOT_YOURS = "you can report a business you exchanged messages with"
MAX_NAME = 512
MAX_LISTED = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    business: BusinessId
    reason: ReportReason
    declared: Described | None = None
    """A mismatch: what the endpoint declared (kind, template)."""
    observed: Described | None = None
    """A mismatch: what the person's device found (kind, template)."""


class BusinessFeedback:
    def __init__(
        self,
        *,
        store: BusinessStore,
        endpoints: EndpointStore,
        signals: BusinessSignals,
        limiter: RateLimiter,
    ) -> None:
        self._store = store
        self._endpoints = endpoints
        self._signals = signals
        self._limiter = limiter

    async def blocked(self, person: AccountId, target: AccountId) -> None:
        """``person`` blocked ``target``: a block signal when it is a business's account."""
        endpoint = await self._endpoints.endpoint_by_account(target)
        if endpoint is None:
            return
        await self._signals.record(business=endpoint.business, person=person, kind=SignalKind.BLOCK)
        log.info("a person blocked a business", extra={"business": endpoint.business})

    async def report(self, person: AccountId, report: Report) -> SignalKind:
        """Record ``person``'s report; the kind of signal it counts as."""
        _check(report)
        if await self._store.get_business(report.business) is None:
            raise NotFound("no business has that id")
        if await self._store.business_person(report.business, person) is None:
            raise NotFound(NOT_YOURS)
        kind = SignalKind.MISMATCH if report.reason is ReportReason.MISMATCH else SignalKind.REPORT
        window_s = REPORT_WINDOW_MS / 1000
        await self._limiter.check_window(
            f"business:{kind.value}", f"{person}:{report.business}", count=1, window_s=window_s
        )
        reason = report.reason.value
        if report.declared is not None and report.observed is not None:
            reason = f"declared {_named(report.declared)}; observed {_named(report.observed)}"
        await self._signals.record(business=report.business, person=person, kind=kind, reason=reason)
        log.info("a person reported a business", extra={"business": report.business, "reason": reason})
        return kind

    async def signals(self, business: BusinessId, *, limit: int = MAX_LISTED) -> list[SignalRecord]:
        """For the operator: the signals against the business's accounts, newest first."""
        if await self._store.get_business(business) is None:
            raise NotFound("no business has that id")
        found: list[SignalRecord] = []
        for account in await self._store.business_accounts(business):
            found += await self._store.signals_of(account.id, limit=limit)
        return sorted(found, key=lambda s: -s.at)[:limit]


def _named(d: Described) -> str:
    """``template spring_sale fr MARKETING`` or ``text``: kinds and names, never content."""
    return " ".join(p for p in (d.kind, d.template, d.language, d.category) if p)


def _check(report: Report) -> None:
    if report.reason is ReportReason.MISMATCH:
        if report.declared is None or report.observed is None:
            raise InvalidInput("a mismatch report gives the declared and the observed kind")
        for name, d in (("declared", report.declared), ("observed", report.observed)):
            if d.kind not in KINDS and d.kind != "media":
                raise InvalidInput(f"{name}.kind: one of the Cloud API message kinds")
            for member, value in (("template", d.template), ("lang", d.language), ("category", d.category)):
                if len(value or "") > MAX_NAME or (value and not value.isprintable()):
                    raise InvalidInput(f"{name}.{member}: at most {MAX_NAME} printable characters")
    elif report.declared is not None or report.observed is not None:
        raise InvalidInput("declared and observed go with the reason mismatch only")
