"""BusinessAdmin and BusinessPeople on the in-memory store: the operator's businesses, numbers and
tokens; people finding a business, their ids at it, and their consents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from passerelle.domain.business.consent import ConsentSource, ConsentState, Scope
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import is_numeric_id, is_user_id
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.server.system import RandomIds
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.people import BusinessPeople
from passerelle.service.business.records import BusinessProfile
from passerelle.storage import MemoryStore
from passerelle.storage.memory.business import MemoryBusinessStore
from tests.unit.service.fakes import FakeClock


@dataclass
class Biz:
    admin: BusinessAdmin
    people: BusinessPeople
    clock: FakeClock
    store: MemoryBusinessStore


@pytest_asyncio.fixture
async def biz() -> AsyncIterator[Biz]:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.open()
    business_store = MemoryBusinessStore(store)
    yield Biz(
        admin=BusinessAdmin(store=business_store, clock=clock, ids=RandomIds()),
        people=BusinessPeople(store=business_store, clock=clock),
        clock=clock,
        store=business_store,
    )
    await store.close()


PROFILE = BusinessProfile(name="Vélo Paris", about="Bikes", website="https://velo.example")


async def test_an_operator_builds_a_business_with_an_account_and_a_number(biz: Biz) -> None:
    shop = await biz.admin.create("Velo-Paris", PROFILE)
    assert (
        shop.id.startswith("bz_") and len(shop.id) == 25 and shop.slug == "velo-paris" and not shop.verified
    )
    waba = await biz.admin.add_account(shop.id, "")
    assert is_numeric_id(waba.id) and waba.name == "Vélo Paris"
    number = await biz.admin.add_number(shop.id, waba.id, "+33 1 23 45 67 89")
    assert is_numeric_id(number.id) and number.display_number == "33123456789"
    assert await biz.admin.numbers(shop.id) == [number]
    with pytest.raises(Conflict):
        await biz.admin.create("velo-paris", PROFILE)
    other = await biz.admin.create("atelier", PROFILE)
    with pytest.raises(NotFound):
        await biz.admin.add_number(other.id, waba.id, "+33 9 99 99 99 99")  # not its account
    other_waba = await biz.admin.add_account(other.id, "main")
    with pytest.raises(Conflict):
        await biz.admin.add_number(other.id, other_waba.id, "33123456789")


async def test_profile_checks_and_the_verified_flag(biz: Biz) -> None:
    with pytest.raises(InvalidInput):
        await biz.admin.create("velo", BusinessProfile(name=" "))
    with pytest.raises(InvalidInput):
        await biz.admin.create("velo", BusinessProfile(name="x", website="javascript:alert(1)"))
    shop = await biz.admin.create("velo", PROFILE)
    updated = await biz.admin.update(shop.id, verified=True)
    assert updated.verified and updated.profile == PROFILE
    renamed = await biz.admin.update(shop.id, profile=BusinessProfile(name="Vélo"))
    assert renamed.verified and renamed.profile.name == "Vélo"
    with pytest.raises(NotFound):
        await biz.admin.update("bz_nope", verified=True)


async def test_tokens_authenticate_until_revoked(biz: Biz) -> None:
    shop = await biz.admin.create("velo", PROFILE)
    made = await biz.admin.create_token(shop.id, "bot")
    assert made.token.startswith("pbt_") and made.record.label == "bot"
    assert (await biz.admin.authenticate(made.token)).business == shop.id
    for bad in ("", "pbt_nope", made.token + "x", "Bearer " + made.token):
        with pytest.raises(CloudApiError) as caught:
            await biz.admin.authenticate(bad)
        assert caught.value.failure is Failure.BAD_TOKEN and caught.value.spec.code == 190
    await biz.admin.revoke_token(shop.id, made.record.id)
    with pytest.raises(CloudApiError):
        await biz.admin.authenticate(made.token)
    with pytest.raises(NotFound):
        await biz.admin.revoke_token(shop.id, made.record.id)
    assert [t.revoked_at for t in await biz.admin.tokens(shop.id)] == [biz.clock.ms]


async def test_people_find_a_business_by_address_or_number(biz: Biz) -> None:
    shop = await biz.admin.create("velo-paris", PROFILE)
    waba = await biz.admin.add_account(shop.id, "main")
    await biz.admin.add_number(shop.id, waba.id, "+33 1 23 45 67 89")
    by_address = await biz.people.find("biz:Velo-Paris")
    by_number = await biz.people.find("+33 (1) 23-45-67-89")
    assert by_address == by_number and by_address.business.id == shop.id
    assert [n.display_number for n in by_address.numbers] == ["33123456789"]
    for unknown in ("biz:velo-lyon", "+33 9 99 99 99 99"):
        with pytest.raises(NotFound):
            await biz.people.find(unknown)
    with pytest.raises(InvalidInput):
        await biz.people.find("photo:alice")


async def test_ids_at_a_business_are_stable_and_differ_between_businesses(biz: Biz) -> None:
    one = await biz.admin.create("velo", PROFILE)
    two = await biz.admin.create("atelier", PROFILE)
    alice = AccountId("a_alice")
    first = await biz.people.ids_at(one, alice)
    assert await biz.people.ids_at(one, alice) == first
    elsewhere = await biz.people.ids_at(two, alice)
    assert first.wa_id != elsewhere.wa_id and first.user_id != elsewhere.user_id
    assert first.wa_id.isdigit() and len(first.wa_id) == 15 and is_user_id(first.user_id)


async def test_consents_are_set_listed_and_erased(biz: Biz) -> None:
    shop = await biz.admin.create("velo", PROFILE)
    alice = AccountId("a_alice")
    await biz.people.set_consent(alice, shop.id, "marketing", granted=True, source="sdk")
    biz.clock.advance(1)
    stop = await biz.people.set_consent(alice, shop.id, "marketing", granted=False, source="keyword")
    assert stop.state is ConsentState.REVOKED and stop.source is ConsentSource.KEYWORD
    assert [(c.scope, c.state) for c in await biz.people.consents(alice)] == [
        (Scope.MARKETING, ConsentState.REVOKED)
    ]
    assert len(await biz.people.ledger(alice)) == 2
    with pytest.raises(InvalidInput):
        await biz.people.set_consent(alice, shop.id, "spam", granted=True, source="sdk")
    with pytest.raises(InvalidInput):
        await biz.people.set_consent(alice, shop.id, "utility", granted=True, source="business")
    with pytest.raises(NotFound):
        await biz.people.set_consent(alice, "bz_nope", "utility", granted=True, source="sdk")
    await biz.people.erase_account(alice)
    assert await biz.people.consents(alice) == [] and await biz.people.ledger(alice) == []


async def test_the_janitor_forgets_reach_older_than_seven_days(biz: Biz) -> None:
    shop = await biz.admin.create("velo", PROFILE)
    waba = await biz.admin.add_account(shop.id, "main")
    store = biz.store
    now = biz.clock.now_ms()
    await store.note_reached(waba.id, AccountId("a_old"), at=Timestamp(now - 8 * 86_400_000))
    await store.note_reached(waba.id, AccountId("a_new"), at=Timestamp(now - 6 * 86_400_000))
    assert await biz.people.delete_expired(now) == 1
    assert await store.reached_since(waba.id, since=Timestamp(0)) == 1


async def test_a_business_blocks_only_people_who_wrote_in_the_last_day(biz: Biz) -> None:
    from passerelle.service.business.cloud import BlockUsers, CloudControl, UserRef

    shop = await biz.admin.create("velo", PROFILE)
    waba = await biz.admin.add_account(shop.id, "main")
    number = await biz.admin.add_number(shop.id, waba.id, "+33123456789")
    token = await biz.admin.authenticate((await biz.admin.create_token(shop.id, "bot")).token)
    cloud = CloudControl(store=biz.store, admin=biz.admin)
    blocks = BlockUsers(store=biz.store, cloud=cloud, clock=biz.clock)
    alice = await biz.people.ids_at(shop, AccountId("a_alice"))
    bob = await biz.people.ids_at(shop, AccountId("a_bob"))
    await biz.store.note_inbound(shop.id, alice.account, at=biz.clock.now_ms())
    await biz.store.note_inbound(shop.id, bob.account, at=Timestamp(biz.clock.now_ms() - 25 * 3600 * 1000))
    refs = [
        UserRef(input=alice.wa_id, wa_id=alice.wa_id),
        UserRef(input=bob.user_id, user_id=bob.user_id),
        UserRef(input="1", wa_id="1"),
    ]
    outcome = await blocks.block(token, number.id, refs)
    assert [p for _, p in outcome.done] == [alice]
    assert [(r.input, e.spec.code) for r, e in outcome.failed] == [(bob.user_id, 139100), ("1", 139100)]
    assert await blocks.blocked(token, number.id) == [alice]
    undone = await blocks.unblock(token, number.id, [UserRef(input=alice.user_id, user_id=alice.user_id)])
    assert [p for _, p in undone.done] == [alice] and await blocks.blocked(token, number.id) == []
