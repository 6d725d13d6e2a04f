"""``BusinessSends``: the server's admission of a business's send to a person, on the metadata the
business endpoint declares in the clear (docs/business.md section 5), and the window's inbound side.

Rules, in order:
- The declared number must be the business's (100, subcode 33 otherwise) and the kind one of
  ``domain.business.sends.KINDS`` (131051).
- The number's throughput (``business_sends_per_second``) is charged first, for every send whether
  it then passes or not: it bounds the work a bot can make the server do (130429).
- The facts are gathered from the store — blocks either way, the window (``last_inbound``), the
  template's status and category **from the server's record** (never the endpoint's word), the
  person's consents, the business account's tier — and judged by ``domain.business.sends.judge``
  (131026, 131047, 131050, 132001, 132015, 132016).
- A send that passes is charged to the (number, person) pair bucket (131056).
- A template outside a window is then judged against the tier where it is recorded: the
  ``ReachWriter`` records the sends of the moment in one transaction, each in turn, a new person
  counted against the tier over the rolling 24 hours (131064 when over it: nothing recorded, and
  the pair token it spent is not given back) and every one in the quality rates' reach. The count
  is exact however many sends are admitted at once.

Whether the person blocked the business (their own block of its network account) is not this
service's table: the composition root hands in ``person_blocked``; without it only the business's
own ``block_users`` list counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from passerelle.domain.business.consent import ConsentState, Scope
from passerelle.domain.business.errors import ERRORS, CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, is_numeric_id
from passerelle.domain.business.quality import TemplateStatus
from passerelle.domain.business.sends import KINDS, SendFacts, judge
from passerelle.domain.business.tiers import REACH_WINDOW_MS, Tier
from passerelle.domain.business.window import window_open
from passerelle.domain.errors import RateLimited
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.service.business.cloud import unknown_object_details
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.reach_writer import ReachWriter
from passerelle.service.business.records import NumberRecord, ReachClaim, TemplateReach, TemplateRecord
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import Clock

PersonBlocked = Callable[[BusinessId, AccountId], Awaitable[bool]]
"""Whether the person blocked the business (their block of the business's network account)."""

THROUGHPUT_RULE = "business:number"
PAIR_RULE = "business:pair"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredSend:
    """What the business endpoint declares, in the clear, beside a send's ciphertext."""

    number: PhoneNumberId
    kind: str
    wamid: str
    template: str | None = None
    language: str | None = None


class BusinessSends:
    def __init__(
        self,
        *,
        store: BusinessStore,
        clock: Clock,
        limiter: RateLimiter,
        limits: Limits | None = None,
        person_blocked: PersonBlocked | None = None,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limiter = limiter
        self._limits = limits or Limits()
        self._person_blocked = person_blocked
        self._reach = ReachWriter(store, on_batch=on_batch)

    @property
    def sends_per_number(self) -> float:
        """Each number's throughput (sends per second; 0: not bounded)."""
        return self._limits.business_sends_per_second

    async def admit(self, *, business: BusinessId, person: AccountId, declared: DeclaredSend) -> str | None:
        """Let the send go, or raise ``CloudApiError`` with the Cloud API's code. A template send's
        category (the server's record of it) is returned, for the person's device to check."""
        number = await self._number(business, declared.number)
        if declared.kind not in KINDS:
            raise CloudApiError(
                Failure.UNSUPPORTED_TYPE, f"Message type {declared.kind[:32]!r} is not supported."
            )
        limits = self._limits
        if limits.business_sends_per_second > 0:  # 0 turns the bucket off
            await self._charge(
                THROUGHPUT_RULE,
                number.id,
                rate=limits.business_sends_per_second,
                burst=max(1.0, limits.business_sends_per_second),
                failure=Failure.THROUGHPUT,
            )
        now = self._clock.now_ms()
        template = await self._template(number, declared)
        facts = await self._facts(business, person, number, declared, template, now)
        verdict = judge(facts)
        if verdict.failure is not None:
            raise CloudApiError(verdict.failure)
        if declared.kind != "status" and limits.business_pair_interval_s > 0:
            await self._charge(
                PAIR_RULE,
                f"{number.id}:{person}",
                rate=1 / limits.business_pair_interval_s,
                burst=limits.business_pair_burst,
                failure=Failure.PAIR_RATE,
            )
        if template is not None and not facts.window_open:
            # Against the tier when new, and the quality rates' denominator: whom each number and
            # template reached outside a window, judged and recorded with the other sends of the
            # moment in one transaction, in order: the tier's count is exact.
            reach = TemplateReach(
                waba=number.waba, number=number.id, template=template.id, account=person, at=now
            )
            claim = ReachClaim(reach=reach, tier=facts.tier, since=Timestamp(now - REACH_WINDOW_MS))
            if not await self._reach.claim(claim):
                raise CloudApiError(Failure.MESSAGING_LIMIT)
        return None if template is None else template.category.value

    async def note_inbound(self, *, business: BusinessId, person: AccountId) -> None:
        """The person wrote to the business: its window opens (again) for 24 hours."""
        await self._store.note_inbound(business, person, at=self._clock.now_ms())

    # -- the facts ----------------------------------------------------------------------------------

    async def _number(self, business: BusinessId, number_id: str) -> NumberRecord:
        number = await self._store.get_number(PhoneNumberId(number_id)) if is_numeric_id(number_id) else None
        if number is None or number.business != business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(number_id))
        return number

    async def _template(self, number: NumberRecord, declared: DeclaredSend) -> TemplateRecord | None:
        if declared.kind != "template":
            return None
        if not declared.template or not declared.language:
            raise CloudApiError(Failure.MISSING_PARAMETER, "A template needs its name and language code.")
        return await self._store.get_template(number.waba, declared.template, declared.language)

    async def _facts(
        self,
        business: BusinessId,
        person: AccountId,
        number: NumberRecord,
        declared: DeclaredSend,
        template: TemplateRecord | None,
        now: Timestamp,
    ) -> SendFacts:
        blocked = await self._store.is_blocked_by_business(business, person)
        if not blocked and self._person_blocked is not None:
            blocked = await self._person_blocked(business, person)
        status: TemplateStatus | None = None if template is None else template.status_at(now)
        if status in (TemplateStatus.PENDING, TemplateStatus.REJECTED):
            status = None  # only an approved template exists for a send (132001)
        facts = SendFacts(
            kind=declared.kind,
            blocked=blocked,
            window_open=window_open(await self._store.last_inbound(business, person), now),
            template_status=status,
            category=None if template is None else template.category,
            granted=frozenset(),
            marketing_stopped=False,
            tier=Tier.TIER_250,
            reached_24h=0,
            already_reached=False,
        )
        if blocked or status is not TemplateStatus.APPROVED:
            return facts  # judged without consent or reach: only an approved template needs them
        consents = [c for c in await self._store.consents_of(person) if c.business == business]
        facts = dataclasses.replace(
            facts,
            granted=frozenset(c.scope for c in consents if c.state is ConsentState.GRANTED),
            marketing_stopped=any(
                c.scope is Scope.MARKETING and c.state is ConsentState.REVOKED for c in consents
            ),
        )
        if facts.window_open:
            return facts  # a stop holds in the window too; the reach counts outside it only
        account = await self._store.get_business_account(number.waba)
        # The person's reach and the account's count are judged where they are recorded
        # (``ReachWriter``, one transaction per batch): judging them here, from a count read while
        # other sends are being recorded, would let a batch pass the limit.
        return dataclasses.replace(facts, tier=Tier.TIER_250 if account is None else account.tier)

    async def _charge(self, rule: str, key: str, *, rate: float, burst: float, failure: Failure) -> None:
        try:
            await self._limiter.check(rule, key, rate=rate, burst=burst)
        except RateLimited as exc:
            details = f"{ERRORS[failure].details} Retry in {exc.retry_after_s:.1f} s."
            raise CloudApiError(failure, details) from None
