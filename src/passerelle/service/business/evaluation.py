"""Quality ratings and messaging-limit tiers, evaluated (docs/business.md section 5).

``BusinessSignals.record`` is how the rest of the server reports a negative signal against a
business — a person's block of it, a report, a declared-kind mismatch, a marketing stop. A signal is
tied to the business account, number and template that last reached the person outside a window in
the last 7 days (none: it counts against every number of every account of the business), and kept
once per (business account, person, kind): one person toggling cannot weigh more than once.

``QualityEvaluation`` runs periodically on every node (``run``), over every business account:
- each number's rating from its people reached outside a window and its signals over 7 days
  (``domain.business.quality.rate``), written when it changes;
- each live template's: a pause that has run out ends (``REINSTATED`` to the bot); an ``APPROVED``
  template rated ``RED`` — on the signals since its last pause ended — is ``PAUSED`` 3 h, then 6 h,
  then ``DISABLED`` (``after_red``), each change told to the bot;
- the tier, once per ``EVALUATION_INTERVAL_MS`` (6 h): one up or down by ``next_tier`` on the unique
  people reached over 7 days and the worst number's rating. The evaluation is written only if no
  other node wrote one meanwhile, so several nodes move a tier once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Final

from passerelle.domain.business.consent import ConsentState, Scope
from passerelle.domain.business.ids import BusinessId, TemplateId, WabaId
from passerelle.domain.business.quality import (
    Quality,
    SignalKind,
    Signals,
    TemplateStatus,
    after_red,
    rate,
)
from passerelle.domain.business.tiers import EVALUATION_INTERVAL_MS, VOLUME_WINDOW_MS, Tier, next_tier
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.proto.cloud.webhooks import (
    NumberQualityChange,
    NumberQualityEntry,
    NumberQualityPayload,
    NumberQualityValue,
)
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessAccountRecord,
    ConsentRecord,
    Evaluation,
    NumberRecord,
    QualityCounts,
    SignalRecord,
    TemplateRecord,
)
from passerelle.service.business.templates import Templates
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.ports import Clock, Lease

log = logging.getLogger("passerelle.business.quality")

WORST_FIRST: Final = (Quality.RED, Quality.YELLOW, Quality.GREEN, Quality.UNKNOWN)


class BusinessSignals:
    def __init__(self, *, store: BusinessStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def consent_changed(self, change: ConsentRecord) -> None:
        """A person's revocation of the marketing scope (STOP, whatever the source) is a stop signal."""
        if change.scope is Scope.MARKETING and change.state is ConsentState.REVOKED:
            await self.record(business=change.business, person=change.account, kind=SignalKind.STOP)

    async def record(
        self, *, business: BusinessId, person: AccountId, kind: SignalKind, reason: str = ""
    ) -> None:
        """A negative signal from ``person`` against ``business`` (``reason``: a report's, or a
        mismatch's declared and observed kinds)."""
        now = self._clock.now_ms()
        since = Timestamp(now - VOLUME_WINDOW_MS)
        accounts = await self._store.business_accounts(business)
        reaches = [
            reach
            for account in accounts
            if (reach := await self._store.last_template_reach(account.id, person, since=since)) is not None
        ]
        if reaches:  # the business account, number and template that last reached the person
            last = max(reaches, key=lambda r: r.at)
            signal = SignalRecord(
                waba=last.waba,
                account=person,
                kind=kind,
                number=last.number,
                template=last.template,
                at=now,
                reason=reason,
            )
            await self._store.record_signal(signal)
            return
        for account in accounts:  # reached by none: it counts against every number
            signal = SignalRecord(
                waba=account.id, account=person, kind=kind, number="", template="", at=now, reason=reason
            )
            await self._store.record_signal(signal)


def signals_for(counts: QualityCounts, *, number: str | None = None, template: str | None = None) -> Signals:
    """A number's signals (its own and those tied to no number) or a template's."""
    by_kind: dict[SignalKind, int] = {}
    for (n, t, kind), found in counts.signals.items():
        if (number is not None and n in (number, "")) or (template is not None and t == template):
            by_kind[kind] = by_kind.get(kind, 0) + found
    reached = (
        counts.reached_by_number.get(number, 0)
        if number is not None
        else counts.reached_by_template.get(template or "", 0)
    )
    return Signals.counted(reached, by_kind)


class QualityEvaluation:
    def __init__(
        self,
        *,
        store: BusinessStore,
        clock: Clock,
        templates: Templates,
        cap: int = 250,
        webhooks: Webhooks | None = None,
    ) -> None:
        """``webhooks``: where a number's rating or limit change is told to the bot
        (``phone_number_quality_update``)."""
        self._store = store
        self._clock = clock
        self._templates = templates
        self._cap = cap
        self._webhooks = webhooks

    async def run(self, interval_s: float, *, lease: Lease | None = None) -> None:
        """Evaluate every business account every ``interval_s`` seconds, until cancelled (0: never).
        With several nodes only the holder of ``lease`` evaluates (one pass per interval across the
        cluster); the others ask for it at every interval. The lease is given up when cancelled."""
        if interval_s <= 0:
            return
        try:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    if lease is not None and not await lease.held():
                        continue
                    await self.evaluate_all()
                except Unavailable as exc:
                    log.warning("quality evaluation skipped: %s", exc)
                except Exception:
                    log.exception("quality evaluation failed")
        finally:
            if lease is not None:
                await lease.close()

    async def evaluate_all(self) -> int:
        """One pass over every business account; how many were evaluated."""
        done = 0
        for business in await self._store.list_businesses():
            for account in await self._store.business_accounts(business.id):
                await self.evaluate(account)
                done += 1
        return done

    async def evaluate(self, account: BusinessAccountRecord) -> None:
        now = self._clock.now_ms()
        since = Timestamp(now - VOLUME_WINDOW_MS)
        counts = await self._store.quality_counts(account.id, since=since)
        worst = Quality.UNKNOWN
        for number in await self._store.numbers_of(account.business):
            if number.waba != account.id:
                continue
            quality = rate(signals_for(counts, number=number.id))
            if quality is not number.quality:
                await self._store.set_number_quality(number.id, quality)
                log.info("number quality changed", extra={"number": number.id, "quality": quality.value})
                if (quality is Quality.RED) != (number.quality is Quality.RED):
                    event = "FLAGGED" if quality is Quality.RED else "UNFLAGGED"
                    await self._tell(account, [number], event, account.tier, None)
            if WORST_FIRST.index(quality) < WORST_FIRST.index(worst):
                worst = quality
        for template in await self._store.list_templates(account.id, limit=self._cap + 1):
            await self._template(account, template, counts, now)
        await self._tier(account, worst, now)

    async def _template(
        self, account: BusinessAccountRecord, t: TemplateRecord, counts: QualityCounts, now: Timestamp
    ) -> None:
        if t.status is TemplateStatus.PAUSED:
            if t.paused_until is not None and t.paused_until <= now:
                back = dataclasses.replace(t, status=TemplateStatus.APPROVED, updated_at=now)
                if await self._store.change_template(back, expected=TemplateStatus.PAUSED):
                    await self._templates.changed(account.business, back, event="REINSTATED")
            return
        if t.status is not TemplateStatus.APPROVED:
            return
        if t.paused_until is not None and t.paused_until > now - VOLUME_WINDOW_MS:
            # judged on what happened since its last pause ended
            signals = await self._store.template_signals(account.id, TemplateId(t.id), since=t.paused_until)
        else:
            signals = signals_for(counts, template=t.id)
        quality = rate(signals)
        if quality is Quality.RED:
            after = after_red(t.pauses)
            until = None if after.paused_for_ms is None else Timestamp(now + after.paused_for_ms)
            changed = dataclasses.replace(
                t,
                status=after.status,
                quality=quality,
                pauses=t.pauses + 1,
                paused_until=until if until is not None else t.paused_until,
                updated_at=now,
            )
            if await self._store.change_template(changed, expected=TemplateStatus.APPROVED):
                log.info(
                    "template paused or disabled for low quality",
                    extra={"template": t.id, "status": changed.status.value, "pauses": changed.pauses},
                )
                if quality is not t.quality:
                    await self._templates.quality_changed(account.business, changed, previous=t.quality.value)
                await self._templates.changed(account.business, changed)
        elif quality is not t.quality:
            changed = dataclasses.replace(t, quality=quality, updated_at=now)
            if await self._store.change_template(changed, expected=TemplateStatus.APPROVED):
                await self._templates.quality_changed(account.business, changed, previous=t.quality.value)

    async def _tier(self, account: BusinessAccountRecord, worst: Quality, now: Timestamp) -> None:
        last = await self._store.evaluation(account.id)
        if last is not None and now - last.evaluated_at < EVALUATION_INTERVAL_MS:
            return
        streak = (last.red_streak if last is not None else 0) + 1 if worst is Quality.RED else 0
        reached = await self._store.reached_since(account.id, since=Timestamp(now - VOLUME_WINDOW_MS))
        tier = next_tier(account.tier, reached_7d=reached, quality=worst, red_streak=streak)
        if tier is not account.tier:
            streak = 0  # a move starts the count again
        evaluation = Evaluation(waba=WabaId(account.id), red_streak=streak, evaluated_at=now)
        saved = await self._store.save_evaluation(
            evaluation, tier=tier, expected_at=None if last is None else last.evaluated_at
        )
        if saved and tier is not account.tier:
            log.info("messaging limit tier changed", extra={"waba": account.id, "tier": tier.wire})
            numbers = [n for n in await self._store.numbers_of(account.business) if n.waba == account.id]
            event = "UPGRADE" if tier > account.tier else "DOWNGRADE"
            await self._tell(account, numbers, event, tier, account.tier)

    async def _tell(
        self,
        account: BusinessAccountRecord,
        numbers: list[NumberRecord],
        event: str,
        tier: Tier,
        old: Tier | None,
    ) -> None:
        """``phone_number_quality_update`` for each number (Meta's shape)."""
        if self._webhooks is None:
            return
        now = self._clock.now_ms()
        for number in numbers:
            value = NumberQualityValue(
                display_phone_number=number.display_number,
                event=event,
                current_limit=tier.wire,
                max_daily_conversations_per_business=tier.wire,
                old_limit=None if old is None else old.wire,
            )
            entry = NumberQualityEntry(
                id=account.id, time=now // 1000, changes=[NumberQualityChange(value=value)]
            )
            await self._webhooks.enqueue(account.business, NumberQualityPayload(entry=[entry]))

    async def delete_expired(self, now: Timestamp) -> int:
        """The janitor's part: reach per template and signals older than 7 days."""
        return await self._store.forget_quality_before(Timestamp(now - VOLUME_WINDOW_MS))
