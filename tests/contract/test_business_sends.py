"""BusinessSends (docs/business.md section 5) on every store adapter: the admission of a business's
send to a person on the metadata its endpoint declares — the number, blocks either way, the window,
the template's status and category from the server's record, consent and STOP, the messaging limit
over a rolling 24 hours, and the two token buckets (on Redis too when PASSERELLE_TEST_REDIS_URL is
set). Each case asserts the Cloud API code a bot would get."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from passerelle.domain.business.consent import Category, ConsentSource, ConsentState, Scope
from passerelle.domain.business.errors import CloudApiError
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, TemplateId, WabaId
from passerelle.domain.business.quality import Quality, TemplateStatus
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.server.system import RandomIds
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import BusinessProfile, ConsentRecord, NumberRecord, TemplateRecord
from passerelle.service.business.sends import BusinessSends, DeclaredSend, PersonBlocked
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import RateLimits, Store
from passerelle.storage.business import business_store_for
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.ratelimits.redis import RedisRateLimits
from tests.contract.conftest import Backend, ManualClock

REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")
HOUR_MS = 3_600_000


@dataclass
class Shop:
    biz: BusinessStore
    clock: ManualClock
    business: BusinessId
    number: NumberRecord
    buckets: RateLimits
    blocked_by_people: set[tuple[BusinessId, AccountId]] = dataclasses.field(default_factory=set)
    limits: Limits = dataclasses.field(default_factory=Limits)

    def sends(self, limits: Limits | None = None) -> BusinessSends:
        async def person_blocked(business: BusinessId, person: AccountId) -> bool:
            return (business, person) in self.blocked_by_people

        hook: PersonBlocked = person_blocked
        return BusinessSends(
            store=self.biz,
            clock=self.clock,
            limiter=RateLimiter(self.buckets),
            limits=limits or self.limits,
            person_blocked=hook,
        )

    @property
    def waba(self) -> WabaId:
        return self.number.waba

    def advance(self, ms: int) -> None:
        self.clock.now += ms

    async def template(
        self,
        name: str,
        category: Category,
        *,
        status: TemplateStatus = TemplateStatus.APPROVED,
        paused_until: int | None = None,
    ) -> TemplateRecord:
        now = self.clock.now_ms()
        made = TemplateRecord(
            id=TemplateId(str(10**14 + secrets.randbelow(9 * 10**14))),
            waba=self.waba,
            name=name,
            language="en_US",
            category=category,
            parameter_format="POSITIONAL",
            components=json.dumps([{"type": "BODY", "text": "Hello"}]),
            status=status,
            quality=Quality.UNKNOWN,
            paused_until=None if paused_until is None else Timestamp(paused_until),
            created_at=now,
            updated_at=now,
        )
        await self.biz.add_template(made, cap=250)
        return made

    async def consent(self, person: AccountId, scope: Scope, state: ConsentState) -> None:
        await self.biz.record_consent(
            ConsentRecord(
                account=person,
                business=self.business,
                scope=scope,
                state=state,
                source=ConsentSource.SDK,
                at=self.clock.now_ms(),
            )
        )


async def open_shop(store: Store, backend: Backend, buckets: RateLimits) -> Shop:
    biz = business_store_for(store)
    admin = BusinessAdmin(store=biz, clock=backend.clock, ids=RandomIds())
    owner = await admin.create(f"shop-{secrets.token_hex(3)}", BusinessProfile(name="Vélo Paris"))
    waba = await admin.add_account(owner.id, "main")
    number = await admin.add_number(owner.id, waba.id, str(33100000000 + secrets.randbelow(10**8)))
    return Shop(biz=biz, clock=backend.clock, business=owner.id, number=number, buckets=buckets)


@pytest.fixture
async def shop(store: Store, backend: Backend) -> Shop:
    return await open_shop(store, backend, MemoryRateLimits(backend.clock))


def person() -> AccountId:
    return AccountId(f"acc_{secrets.token_hex(6)}")


def send(shop: Shop, kind: str = "text", template: str | None = None) -> DeclaredSend:
    return DeclaredSend(
        number=shop.number.id,
        kind=kind,
        wamid=f"wamid.{secrets.token_hex(8)}",
        template=template,
        language="en_US" if template else None,
    )


async def refused(sends: BusinessSends, shop: Shop, who: AccountId, declared: DeclaredSend) -> int:
    with pytest.raises(CloudApiError) as caught:
        await sends.admit(business=shop.business, person=who, declared=declared)
    return caught.value.spec.code


async def test_inside_the_window_any_kind_goes_and_outside_only_a_template(shop: Shop) -> None:
    sends, alice = shop.sends(), person()
    assert await refused(sends, shop, alice, send(shop)) == 131047
    await sends.note_inbound(business=shop.business, person=alice)
    for kind in ("text", "image", "interactive", "reaction", "status"):
        await sends.admit(business=shop.business, person=alice, declared=send(shop, kind))
    shop.advance(24 * HOUR_MS - 1)
    await sends.admit(business=shop.business, person=alice, declared=send(shop))
    shop.advance(1)
    assert await refused(sends, shop, alice, send(shop)) == 131047
    await sends.note_inbound(business=shop.business, person=alice)
    await sends.admit(business=shop.business, person=alice, declared=send(shop))
    assert await shop.biz.reached_since(shop.waba, since=Timestamp(0)) == 0  # in-window: not counted


async def test_the_number_must_be_the_business_s_and_the_kind_known(
    shop: Shop, store: Store, backend: Backend
) -> None:
    other = await open_shop(store, backend, shop.buckets)
    sends, alice = shop.sends(), person()
    await sends.note_inbound(business=shop.business, person=alice)
    foreign = dataclasses.replace(send(shop), number=other.number.id)
    with pytest.raises(CloudApiError) as caught:
        await sends.admit(business=shop.business, person=alice, declared=foreign)
    assert (caught.value.spec.code, caught.value.spec.subcode) == (100, 33)
    for bad in ("12", "not-a-number", "999999999999999"):
        unknown = dataclasses.replace(send(shop), number=PhoneNumberId(bad))
        assert await refused(sends, shop, alice, unknown) == 100
    assert await refused(sends, shop, alice, send(shop, "hologram")) == 131051


async def test_blocks_either_way_are_undeliverable(shop: Shop) -> None:
    sends, alice, bob = shop.sends(), person(), person()
    for who in (alice, bob):
        await sends.note_inbound(business=shop.business, person=who)
    await shop.biz.block_person(shop.business, alice, at=shop.clock.now_ms())
    shop.blocked_by_people.add((shop.business, bob))
    assert await refused(sends, shop, alice, send(shop)) == 131026
    assert await refused(sends, shop, bob, send(shop)) == 131026
    await shop.template("welcome", Category.UTILITY)
    assert await refused(sends, shop, bob, send(shop, "template", "welcome")) == 131026


@pytest.mark.parametrize(
    ("status", "paused_until", "code"),
    [
        (TemplateStatus.APPROVED, None, None),
        (TemplateStatus.PENDING, None, 132001),
        (TemplateStatus.REJECTED, None, 132001),
        (TemplateStatus.PAUSED, HOUR_MS, 132015),
        (TemplateStatus.PAUSED, 0, None),  # the pause ran out
        (TemplateStatus.DISABLED, None, 132016),
    ],
)
async def test_each_template_status(
    shop: Shop, status: TemplateStatus, paused_until: int | None, code: int | None
) -> None:
    sends, alice = shop.sends(), person()
    until = None if paused_until is None else shop.clock.now + paused_until
    await shop.template("order_update", Category.UTILITY, status=status, paused_until=until)
    await shop.consent(alice, Scope.UTILITY, ConsentState.GRANTED)
    declared = send(shop, "template", "order_update")
    for window in (False, True):  # a template is judged on its status inside the window too
        if window:
            await sends.note_inbound(business=shop.business, person=alice)
        if code is None:
            await sends.admit(business=shop.business, person=alice, declared=declared)
        else:
            assert await refused(sends, shop, alice, declared) == code


async def test_an_unknown_template_or_language_is_132001(shop: Shop) -> None:
    sends, alice = shop.sends(), person()
    await shop.template("welcome", Category.UTILITY)
    await shop.consent(alice, Scope.UTILITY, ConsentState.GRANTED)
    assert await refused(sends, shop, alice, send(shop, "template", "nothing_like_it")) == 132001
    french = dataclasses.replace(send(shop, "template", "welcome"), language="fr")
    assert await refused(sends, shop, alice, french) == 132001
    nameless = dataclasses.replace(send(shop, "template", "welcome"), template=None)
    assert await refused(sends, shop, alice, nameless) == 131008


async def test_consent_of_the_template_s_category_from_the_server_s_record(shop: Shop) -> None:
    sends, alice = shop.sends(), person()
    await shop.template("sale", Category.MARKETING)
    await shop.template("receipt", Category.UTILITY)
    await shop.template("code", Category.AUTHENTICATION)
    for name in ("sale", "receipt", "code"):
        assert await refused(sends, shop, alice, send(shop, "template", name)) == 131047
    await shop.consent(alice, Scope.UTILITY, ConsentState.GRANTED)
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "receipt"))
    # the marketing template stays marketing, whatever the endpoint would like it to be
    assert await refused(sends, shop, alice, send(shop, "template", "sale")) == 131047
    assert await refused(sends, shop, alice, send(shop, "template", "code")) == 131047
    await shop.consent(alice, Scope.AUTHENTICATION, ConsentState.GRANTED)
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "code"))
    await shop.consent(alice, Scope.MARKETING, ConsentState.GRANTED)
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "sale"))


async def test_stop_fails_marketing_with_131050_only(shop: Shop) -> None:
    sends, alice = shop.sends(), person()
    await shop.template("sale", Category.MARKETING)
    await shop.template("receipt", Category.UTILITY)
    await shop.consent(alice, Scope.MARKETING, ConsentState.GRANTED)
    await shop.consent(alice, Scope.UTILITY, ConsentState.GRANTED)
    await shop.consent(alice, Scope.MARKETING, ConsentState.REVOKED)
    assert await refused(sends, shop, alice, send(shop, "template", "sale")) == 131050
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "receipt"))
    await sends.note_inbound(business=shop.business, person=alice)  # she writes: the window opens
    await sends.admit(business=shop.business, person=alice, declared=send(shop))  # in-window reply
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "receipt"))
    # The stop holds inside the window too (her "STOP" is itself a message that opens it).
    assert await refused(sends, shop, alice, send(shop, "template", "sale")) == 131050
    await shop.consent(alice, Scope.MARKETING, ConsentState.GRANTED)  # resume
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "sale"))
    shop.advance(25 * HOUR_MS)
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "template", "sale"))


async def test_the_tier_limits_new_people_per_rolling_24_hours(shop: Shop) -> None:
    sends = shop.sends(dataclasses.replace(Limits(), business_sends_per_second=1e9))
    await shop.template("receipt", Category.UTILITY)
    people = [person() for _ in range(Tier.TIER_250 + 1)]
    for n, who in enumerate(people):
        await shop.consent(who, Scope.UTILITY, ConsentState.GRANTED)
        if n < Tier.TIER_250:
            await sends.admit(business=shop.business, person=who, declared=send(shop, "template", "receipt"))
        if n == 0:
            shop.advance(HOUR_MS)  # the first one is reached an hour before the others
    assert await shop.biz.reached_since(shop.waba, since=Timestamp(0)) == 250
    last = people[-1]
    assert await refused(sends, shop, last, send(shop, "template", "receipt")) == 131064
    # someone reached already does not count again; an in-window reply never counts
    await sends.admit(business=shop.business, person=people[1], declared=send(shop, "template", "receipt"))
    await sends.note_inbound(business=shop.business, person=last)
    await sends.admit(business=shop.business, person=last, declared=send(shop, "template", "receipt"))
    # once the first was reached more than 24 hours ago, there is room for one more
    stranger = person()
    await shop.consent(stranger, Scope.UTILITY, ConsentState.GRANTED)
    shop.advance(23 * HOUR_MS)
    assert await refused(sends, shop, stranger, send(shop, "template", "receipt")) == 131064
    shop.advance(1)
    await sends.admit(business=shop.business, person=stranger, declared=send(shop, "template", "receipt"))


async def test_sends_admitted_together_never_pass_the_tier(shop: Shop) -> None:
    """A campaign's sends are recorded in batches (one transaction each, ``ReachWriter``): with 400
    admissions in flight on two nodes (two ``BusinessSends`` over one store) against a tier of 250,
    exactly 250 new people go, the others get 131064 and are not recorded; a person sent to twice in
    the same batch counts once; a template's reach is recorded for each that went."""
    fast = dataclasses.replace(Limits(), business_sends_per_second=1e9)
    nodes = [shop.sends(fast), shop.sends(fast)]
    await shop.template("receipt", Category.UTILITY)
    people = [person() for _ in range(400)]
    for who in people:
        await shop.consent(who, Scope.UTILITY, ConsentState.GRANTED)
    twice = people[:20]  # asked twice at once: the same person in one batch
    codes: list[int] = []

    async def one(n: int, who: AccountId) -> AccountId | None:
        try:
            await nodes[n % 2].admit(
                business=shop.business, person=who, declared=send(shop, "template", "receipt")
            )
        except CloudApiError as exc:
            codes.append(exc.spec.code)
            return None
        return who

    went = await asyncio.gather(*(one(n, who) for n, who in enumerate([*people, *twice])))
    reached = {who for who in went if who is not None}
    assert set(codes) == {131064}
    assert len(reached) == Tier.TIER_250
    assert await shop.biz.reached_since(shop.waba, since=Timestamp(0)) == Tier.TIER_250
    refused_people = [who for who in people if who not in reached]
    assert len(refused_people) == 150
    since = Timestamp(0)
    for who in refused_people[:10]:
        assert not await shop.biz.was_reached(shop.waba, who, since=since)
        assert await shop.biz.last_template_reach(shop.waba, who, since=since) is None
    for who in list(reached)[:10]:
        assert await shop.biz.last_template_reach(shop.waba, who, since=since) is not None
    # someone already reached still goes at the limit; a stranger does not
    await nodes[0].admit(
        business=shop.business, person=next(iter(reached)), declared=send(shop, "template", "receipt")
    )
    assert await refused(nodes[1], shop, refused_people[0], send(shop, "template", "receipt")) == 131064


async def _throughput_and_pair(shop: Shop) -> None:
    sends = shop.sends()
    people = [person() for _ in range(81)]
    for who in people:
        await sends.note_inbound(business=shop.business, person=who)
    for who in people[:80]:
        await sends.admit(business=shop.business, person=who, declared=send(shop))
    assert await refused(sends, shop, people[80], send(shop)) == 130429
    shop.advance(13)  # 1/80 s refills one send
    await sends.admit(business=shop.business, person=people[80], declared=send(shop))

    shop.advance(10_000)
    alice = people[0]
    for _ in range(45):  # her bucket refilled meanwhile: 45 in a burst
        shop.advance(13)
        await sends.admit(business=shop.business, person=alice, declared=send(shop))
    assert await refused(sends, shop, alice, send(shop)) == 131056
    await sends.admit(business=shop.business, person=people[1], declared=send(shop))  # another pair
    await sends.admit(business=shop.business, person=alice, declared=send(shop, "status"))  # read marks
    shop.advance(6_000)
    await sends.admit(business=shop.business, person=alice, declared=send(shop))
    assert await refused(sends, shop, alice, send(shop)) == 131056


async def test_throughput_per_number_and_the_pair_rate(shop: Shop) -> None:
    await _throughput_and_pair(shop)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    if not REDIS_URL:
        pytest.skip("PASSERELLE_TEST_REDIS_URL is not set")
    prefix = f"passerelle:test-biz:{secrets.token_hex(6)}"
    yield prefix
    raw = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in raw.scan_iter(match=f"{prefix}:*")]
        if keys:
            await raw.delete(*keys)
    finally:
        await raw.aclose()


@pytest.mark.redis
async def test_the_pair_rate_is_shared_by_nodes_over_redis(
    store: Store, backend: Backend, redis_prefix: str
) -> None:
    """Two nodes (two limiters on one Redis) sending to the same person share one bucket. (The number's
    bucket refills within a second, which Redis would expire by its own clock under load: it is left
    to the memory test and the rate-limit contract suite.)"""
    if backend.kind != "memory":
        pytest.skip("the buckets do not depend on the store: once is enough")
    nodes = [RedisRateLimits(REDIS_URL, backend.clock, prefix=redis_prefix) for _ in range(2)]
    try:
        shop = await open_shop(store, backend, nodes[0])
        limits = dataclasses.replace(Limits(), business_sends_per_second=0)
        sends = [shop.sends(limits), dataclasses.replace(shop, buckets=nodes[1]).sends(limits)]
        alice = person()
        await sends[0].note_inbound(business=shop.business, person=alice)
        for n in range(45):
            await sends[n % 2].admit(business=shop.business, person=alice, declared=send(shop))
        for either in sends:
            assert await refused(either, shop, alice, send(shop)) == 131056
        shop.advance(6_000)
        await sends[1].admit(business=shop.business, person=alice, declared=send(shop))
        assert await refused(sends[0], shop, alice, send(shop)) == 131056
    finally:
        for node in nodes:
            await node.close()
