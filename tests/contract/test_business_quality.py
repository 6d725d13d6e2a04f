"""Quality and tiers (docs/business.md section 5) on every store adapter: whom templates reached
outside a window, negative signals tied to the number and template that last reached the person
(once per person and kind), the evaluation of numbers' ratings, RED templates paused 3 h then 6 h
then disabled (and reinstated in between), tiers moving up on volume and down after RED twice (once
even when evaluated twice at once), the janitor and erasure."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from passerelle.domain.business.consent import Category, ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import PhoneNumberId
from passerelle.domain.business.quality import Quality, SignalKind, TemplateStatus
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.server.system import RandomIds
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.evaluation import BusinessSignals, QualityEvaluation
from passerelle.service.business.records import ConsentRecord, TemplateReach, TemplateRecord
from passerelle.service.business.templates import Templates
from passerelle.service.ports import Store
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from tests.contract.conftest import Backend
from tests.contract.test_business_sends import HOUR_MS, Shop, open_shop, person, refused, send

DAY_MS = 24 * HOUR_MS


@dataclasses.dataclass
class World:
    shop: Shop
    signals: BusinessSignals
    quality: QualityEvaluation

    async def reach(
        self, template: TemplateRecord, n: int, number: PhoneNumberId | None = None
    ) -> list[AccountId]:
        people = [person() for _ in range(n)]
        for who in people:
            await self.shop.biz.note_template_reach(
                TemplateReach(
                    waba=self.shop.waba,
                    number=number or self.shop.number.id,
                    template=template.id,
                    account=who,
                    at=self.shop.clock.now_ms(),
                )
            )
        return people

    async def block(self, people: list[AccountId]) -> None:
        for who in people:
            await self.signals.record(business=self.shop.business, person=who, kind=SignalKind.BLOCK)

    async def evaluate(self) -> None:
        account = await self.shop.biz.get_business_account(self.shop.waba)
        assert account is not None
        await self.quality.evaluate(account)

    async def number_quality(self) -> Quality:
        number = await self.shop.biz.get_number(self.shop.number.id)
        assert number is not None
        return number.quality

    async def template(self, made: TemplateRecord) -> TemplateRecord:
        found = await self.shop.biz.template_by_id(made.id)
        assert found is not None
        return found

    async def tier(self) -> Tier:
        account = await self.shop.biz.get_business_account(self.shop.waba)
        assert account is not None
        return account.tier


@pytest.fixture
async def world(store: Store, backend: Backend) -> World:
    shop = await open_shop(store, backend, MemoryRateLimits(backend.clock))
    templates = Templates(store=shop.biz, clock=shop.clock, ids=RandomIds())
    return World(
        shop=shop,
        signals=BusinessSignals(store=shop.biz, clock=shop.clock),
        quality=QualityEvaluation(store=shop.biz, clock=shop.clock, templates=templates),
    )


async def test_a_template_sent_outside_the_window_is_reach_for_its_number_and_template(world: World) -> None:
    shop = world.shop
    sends = shop.sends()
    made = await shop.template("receipt", Category.UTILITY)
    alice, bob = person(), person()
    for who in (alice, bob):
        await shop.consent(who, Scope.UTILITY, ConsentState.GRANTED)
    await sends.note_inbound(business=shop.business, person=bob)
    for who in (alice, bob):
        await sends.admit(business=shop.business, person=who, declared=send(shop, "template", "receipt"))
    counts = await shop.biz.quality_counts(shop.waba, since=Timestamp(0))
    assert counts.reached_by_number == {shop.number.id: 1} and counts.reached_by_template == {made.id: 1}
    last = await shop.biz.last_template_reach(shop.waba, alice, since=Timestamp(0))
    assert last is not None and (last.number, last.template) == (shop.number.id, made.id)
    assert await shop.biz.last_template_reach(shop.waba, bob, since=Timestamp(0)) is None


async def test_signals_are_tied_to_the_last_reach_and_kept_once_per_kind(world: World) -> None:
    shop = world.shop
    made = await shop.template("sale", Category.MARKETING)
    (alice,) = await world.reach(made, 1)
    stranger = person()
    for _ in range(3):
        await world.signals.record(business=shop.business, person=alice, kind=SignalKind.BLOCK)
    await world.signals.record(business=shop.business, person=stranger, kind=SignalKind.REPORT)
    await world.signals.consent_changed(
        ConsentRecord(
            account=alice,
            business=shop.business,
            scope=Scope.MARKETING,
            state=ConsentState.REVOKED,
            source=ConsentSource.KEYWORD,
            at=shop.clock.now_ms(),
        )
    )
    counts = await shop.biz.quality_counts(shop.waba, since=Timestamp(0))
    assert counts.signals == {
        (shop.number.id, made.id, SignalKind.BLOCK): 1,
        (shop.number.id, made.id, SignalKind.STOP): 1,
        ("", "", SignalKind.REPORT): 1,
    }
    template = await shop.biz.template_signals(shop.waba, made.id, since=Timestamp(0))
    assert (template.reached, template.blocks, template.stops, template.reports) == (1, 1, 1, 0)


async def test_a_signal_keeps_its_latest_reason_and_is_listed_newest_first(world: World) -> None:
    shop = world.shop
    made = await shop.template("sale", Category.MARKETING)
    (alice,) = await world.reach(made, 1)
    await world.signals.record(business=shop.business, person=alice, kind=SignalKind.REPORT, reason="spam")
    shop.advance(1)
    await world.signals.record(business=shop.business, person=alice, kind=SignalKind.REPORT, reason="scam")
    shop.advance(1)
    await world.signals.record(business=shop.business, person=alice, kind=SignalKind.BLOCK)
    listed = await shop.biz.signals_of(shop.waba, limit=10)
    assert [(s.kind, s.reason, s.number, s.template, s.account) for s in listed] == [
        (SignalKind.BLOCK, "", shop.number.id, made.id, alice),
        (SignalKind.REPORT, "scam", shop.number.id, made.id, alice),
    ]
    assert [s.kind for s in await shop.biz.signals_of(shop.waba, limit=1)] == [SignalKind.BLOCK]


async def test_a_number_is_rated_from_its_reach_and_signals(world: World) -> None:
    shop = world.shop
    made = await shop.template("receipt", Category.UTILITY)
    people = await world.reach(made, 99)
    await world.evaluate()
    assert await world.number_quality() is Quality.UNKNOWN  # fewer than 100 people
    people += await world.reach(made, 1)
    await world.evaluate()
    assert await world.number_quality() is Quality.GREEN
    await world.block(people[:1])
    await world.evaluate()
    assert await world.number_quality() is Quality.YELLOW
    await world.signals.record(business=shop.business, person=person(), kind=SignalKind.REPORT)  # no reach
    await world.block(people[1:2])
    await world.evaluate()
    assert await world.number_quality() is Quality.RED  # 3 in 100


async def test_a_red_template_is_paused_3_hours_then_6_then_disabled(world: World) -> None:
    shop = world.shop
    sends = shop.sends()
    made = await shop.template("sale", Category.MARKETING)
    alice = person()
    await shop.consent(alice, Scope.MARKETING, ConsentState.GRANTED)

    await world.block((await world.reach(made, 100))[:3])
    await world.evaluate()
    paused = await world.template(made)
    assert (paused.status, paused.quality, paused.pauses) == (TemplateStatus.PAUSED, Quality.RED, 1)
    assert paused.paused_until == shop.clock.now + 3 * HOUR_MS
    assert await refused(sends, shop, alice, send(shop, "template", "sale")) == 132015
    shop.advance(3 * HOUR_MS)
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "sale"))
    await world.evaluate()
    back = await world.template(made)
    assert back.status is TemplateStatus.APPROVED and back.pauses == 1
    await world.evaluate()  # the old signals do not count against it again
    assert (await world.template(made)).status is TemplateStatus.APPROVED

    shop.advance(1)
    await world.block((await world.reach(made, 100))[:4])  # 4 of the 101 reached since (alice too)
    await world.evaluate()
    again = await world.template(made)
    assert (again.status, again.pauses, again.paused_until) == (
        TemplateStatus.PAUSED,
        2,
        shop.clock.now + 6 * HOUR_MS,
    )
    shop.advance(6 * HOUR_MS)
    await world.evaluate()
    assert (await world.template(made)).status is TemplateStatus.APPROVED
    shop.advance(1)
    await world.block((await world.reach(made, 100))[:3])
    await world.evaluate()
    disabled = await world.template(made)
    assert (disabled.status, disabled.pauses) == (TemplateStatus.DISABLED, 3)
    assert await refused(sends, shop, alice, send(shop, "template", "sale")) == 132016
    shop.advance(DAY_MS)
    await world.evaluate()
    assert (await world.template(made)).status is TemplateStatus.DISABLED


async def test_the_tier_moves_up_on_volume_and_down_after_two_red_evaluations(world: World) -> None:
    shop = world.shop
    made = await shop.template("receipt", Category.UTILITY)
    for who in await world.reach(made, 124):
        await shop.biz.note_reached(shop.waba, who, at=shop.clock.now_ms())
    await world.evaluate()
    assert await world.tier() is Tier.TIER_250  # under half of 250
    extra = person()
    await shop.biz.note_reached(shop.waba, extra, at=shop.clock.now_ms())
    await world.evaluate()
    assert await world.tier() is Tier.TIER_250  # evaluated less than 6 hours ago
    shop.advance(6 * HOUR_MS)
    await world.evaluate()
    assert await world.tier() is Tier.TIER_2K

    people = await world.reach(made, 100)
    await world.block(people[:10])  # 10 of the 224 reached: RED
    shop.advance(6 * HOUR_MS)
    await world.evaluate()
    assert await world.number_quality() is Quality.RED and await world.tier() is Tier.TIER_2K
    shop.advance(6 * HOUR_MS)
    await world.evaluate()
    assert await world.tier() is Tier.TIER_250


async def test_two_evaluations_at_once_move_the_tier_once(world: World) -> None:
    shop = world.shop
    for _ in range(125):  # half of 250: one tier up
        await shop.biz.note_reached(shop.waba, person(), at=shop.clock.now_ms())
    account = await shop.biz.get_business_account(shop.waba)
    assert account is not None
    await asyncio.gather(world.quality.evaluate(account), world.quality.evaluate(account))
    assert await world.tier() is Tier.TIER_2K


async def test_the_janitor_and_erasure_forget_reach_and_signals(world: World) -> None:
    shop = world.shop
    made = await shop.template("receipt", Category.UTILITY)
    old = await world.reach(made, 2)
    await world.block(old)
    shop.advance(DAY_MS)
    recent = await world.reach(made, 1)
    await world.block(recent)
    assert await world.quality.delete_expired(Timestamp(shop.clock.now + 6 * DAY_MS + 1)) == 4
    counts = await shop.biz.quality_counts(shop.waba, since=Timestamp(0))
    assert counts.reached_by_template == {made.id: 1}
    await shop.biz.forget_business_person(recent[0])
    counts = await shop.biz.quality_counts(shop.waba, since=Timestamp(0))
    assert counts.reached_by_template == {} and counts.signals == {}


async def test_an_evaluation_of_an_account_with_nothing_changes_nothing(world: World) -> None:
    await world.evaluate()
    assert await world.number_quality() is Quality.UNKNOWN and await world.tier() is Tier.TIER_250
    assert await world.quality.evaluate_all() >= 1


async def test_a_signal_goes_to_the_account_that_last_reached_the_person(world: World) -> None:
    shop = world.shop
    admin = BusinessAdmin(store=shop.biz, clock=shop.clock, ids=RandomIds())
    second = await admin.add_account(shop.business, "second")
    made = await shop.template("receipt", Category.UTILITY)
    (alice,) = await world.reach(made, 1)
    await world.block([alice, person()])
    first_counts = await shop.biz.quality_counts(shop.waba, since=Timestamp(0))
    second_counts = await shop.biz.quality_counts(second.id, since=Timestamp(0))
    assert first_counts.signals == {
        (shop.number.id, made.id, SignalKind.BLOCK): 1,  # alice: where she was reached
        ("", "", SignalKind.BLOCK): 1,  # someone reached by neither: against both accounts
    }
    assert second_counts.signals == {("", "", SignalKind.BLOCK): 1}
