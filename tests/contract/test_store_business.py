"""The BusinessStore contract (docs/business.md), on every adapter (see conftest.py): businesses
and unique slugs, business accounts and numbers with unique display numbers, system-user tokens
(hashed, revoked for good), per-business person ids (claimed once, collisions refused), and the
consent ledger (current state, every change, erased with the person)."""

from __future__ import annotations

import secrets

import pytest

from passerelle.domain.business.consent import ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, SystemTokenId, UserId, WabaId, WaId
from passerelle.domain.business.quality import Quality
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessPerson,
    BusinessProfile,
    BusinessRecord,
    ConsentRecord,
    NumberRecord,
    SystemTokenRecord,
)
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for
from tests.contract.conftest import START, Backend


@pytest.fixture
def biz(store: Store) -> BusinessStore:
    return business_store_for(store)


def business(slug: str, *, name: str = "Vélo Paris") -> BusinessRecord:
    return BusinessRecord(
        id=BusinessId("bz_" + secrets.token_urlsafe(16)[:22]),
        slug=slug,
        profile=BusinessProfile(name=name, about="bikes", website="https://velo.example", category="retail"),
        verified=False,
        created_at=Timestamp(START),
        secret=secrets.token_bytes(32),
    )


def digits() -> str:
    return str(10**14 + secrets.randbelow(9 * 10**14))


async def with_number(
    biz: BusinessStore, display: str = "33123456789"
) -> tuple[BusinessRecord, NumberRecord]:
    owner = business(f"shop-{secrets.token_hex(3)}")
    assert await biz.create_business(owner)
    waba = BusinessAccountRecord(
        id=WabaId(digits()), business=owner.id, name="main", tier=Tier.TIER_250, created_at=Timestamp(START)
    )
    await biz.create_business_account(waba)
    number = NumberRecord(
        id=PhoneNumberId(digits()),
        waba=waba.id,
        business=owner.id,
        display_number=display,
        quality=Quality.UNKNOWN,
        created_at=Timestamp(START),
    )
    assert await biz.create_number(number)
    return owner, number


async def test_a_business_reads_back_and_its_slug_is_unique(biz: BusinessStore) -> None:
    first = business("velo-paris")
    assert await biz.create_business(first)
    assert await biz.get_business(first.id) == first
    assert await biz.find_business("velo-paris") == first
    assert not await biz.create_business(business("velo-paris", name="Another"))
    assert await biz.find_business("velo-lyon") is None
    assert await biz.get_business(BusinessId("bz_unknown")) is None
    second = business("atelier")
    assert await biz.create_business(second)
    assert [b.slug for b in await biz.list_businesses()] == ["atelier", "velo-paris"]


async def test_a_business_profile_and_verified_flag_change(biz: BusinessStore) -> None:
    owner = business("velo-paris")
    await biz.create_business(owner)
    profile = BusinessProfile(name="Vélo Paris SA", email="hello@velo.example")
    assert await biz.update_business(owner.id, profile, True)
    found = await biz.get_business(owner.id)
    assert found is not None and found.profile == profile and found.verified and found.secret == owner.secret
    assert not await biz.update_business(BusinessId("bz_unknown"), profile, True)


async def test_accounts_and_numbers_with_unique_display_numbers(biz: BusinessStore) -> None:
    owner, number = await with_number(biz)
    assert await biz.get_number(number.id) == number
    assert await biz.find_number("33123456789") == number
    assert await biz.find_number("33999999999") is None
    accounts = await biz.business_accounts(owner.id)
    assert [a.id for a in accounts] == [number.waba] and accounts[0].tier is Tier.TIER_250
    assert await biz.get_business_account(number.waba) == accounts[0]
    taken = NumberRecord(
        id=PhoneNumberId(digits()),
        waba=number.waba,
        business=owner.id,
        display_number="33123456789",
        quality=Quality.GREEN,
        created_at=Timestamp(START),
    )
    assert not await biz.create_number(taken)
    assert await biz.numbers_of(owner.id) == [number]


async def test_unlimited_tier_fits(biz: BusinessStore) -> None:
    owner = business("big-shop")
    await biz.create_business(owner)
    waba = BusinessAccountRecord(
        id=WabaId(digits()),
        business=owner.id,
        name="x",
        tier=Tier.TIER_UNLIMITED,
        created_at=Timestamp(START),
    )
    await biz.create_business_account(waba)
    assert await biz.get_business_account(waba.id) == waba


async def test_tokens_resolve_by_hash_until_revoked(biz: BusinessStore) -> None:
    owner = business("velo-paris")
    other = business("atelier")
    for b in (owner, other):
        await biz.create_business(b)
    token = SystemTokenRecord(
        id=SystemTokenId("st_one"), business=owner.id, label="bot", created_at=Timestamp(START)
    )
    await biz.create_system_token(token, token_hash="h1")
    assert await biz.resolve_system_token("h1") == token
    assert await biz.resolve_system_token("h2") is None
    assert not await biz.revoke_system_token(other.id, token.id, at=Timestamp(START + 1))  # not theirs
    assert await biz.revoke_system_token(owner.id, token.id, at=Timestamp(START + 5))
    assert not await biz.revoke_system_token(owner.id, token.id, at=Timestamp(START + 6))  # once
    assert await biz.resolve_system_token("h1") is None
    listed = await biz.system_tokens(owner.id)
    assert [(t.id, t.revoked_at) for t in listed] == [(token.id, START + 5)]
    assert await biz.system_tokens(other.id) == []


def person(owner: BusinessRecord, account: str, wa_id: str, user_id: str) -> BusinessPerson:
    return BusinessPerson(
        business=owner.id,
        account=AccountId(account),
        wa_id=WaId(wa_id),
        user_id=UserId(user_id),
        created_at=Timestamp(START),
    )


async def test_person_ids_are_claimed_once_and_unique_per_business(biz: BusinessStore) -> None:
    owner, other = business("velo-paris"), business("atelier")
    for b in (owner, other):
        await biz.create_business(b)
    alice = person(owner, "a_alice", "100000000000001", "ZZ.1000000000000000001")
    assert await biz.claim_person(alice) == alice
    again = person(owner, "a_alice", "100000000000009", "ZZ.1000000000000000009")
    assert await biz.claim_person(again) == alice  # the first ids stay
    clash = person(owner, "a_bob", "100000000000001", "ZZ.1000000000000000002")
    assert await biz.claim_person(clash) is None
    clash_user = person(owner, "a_bob", "100000000000002", "ZZ.1000000000000000001")
    assert await biz.claim_person(clash_user) is None
    assert await biz.business_person(owner.id, AccountId("a_bob")) is None
    elsewhere = person(other, "a_bob", "100000000000001", "ZZ.1000000000000000001")
    assert await biz.claim_person(elsewhere) == elsewhere  # another business: no clash
    assert await biz.person_by_wa_id(owner.id, WaId("100000000000001")) == alice
    assert await biz.person_by_user_id(owner.id, UserId("ZZ.1000000000000000001")) == alice
    assert await biz.person_by_wa_id(owner.id, WaId("999")) is None


def consent(account: str, owner: BusinessRecord, scope: Scope, state: ConsentState, at: int) -> ConsentRecord:
    return ConsentRecord(
        account=AccountId(account),
        business=owner.id,
        scope=scope,
        state=state,
        source=ConsentSource.SDK if state is ConsentState.GRANTED else ConsentSource.KEYWORD,
        at=Timestamp(at),
    )


async def test_the_consent_ledger_keeps_the_state_and_every_change(biz: BusinessStore) -> None:
    owner = business("velo-paris")
    await biz.create_business(owner)
    changes = [
        consent("a_alice", owner, Scope.MARKETING, ConsentState.GRANTED, START),
        consent("a_alice", owner, Scope.UTILITY, ConsentState.GRANTED, START + 1),
        consent("a_alice", owner, Scope.MARKETING, ConsentState.REVOKED, START + 2),
        consent("a_bob", owner, Scope.MARKETING, ConsentState.GRANTED, START + 3),
    ]
    for change in changes:
        await biz.record_consent(change)
    assert await biz.consents_of(AccountId("a_alice")) == [changes[2], changes[1]]  # by scope
    assert await biz.consent_ledger(AccountId("a_alice")) == changes[:3]
    await biz.claim_person(person(owner, "a_alice", "100000000000001", "ZZ.1000000000000000001"))
    await biz.forget_business_person(AccountId("a_alice"))
    assert await biz.consents_of(AccountId("a_alice")) == []
    assert await biz.consent_ledger(AccountId("a_alice")) == []
    assert await biz.business_person(owner.id, AccountId("a_alice")) is None
    assert await biz.consent_ledger(AccountId("a_bob")) == [changes[3]]


async def test_the_rows_outlive_the_store(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    try:
        owner, number = await with_number(business_store_for(first))
    finally:
        await first.close()
    reopened = backend.make()
    await reopened.open()
    try:
        again = business_store_for(reopened)
        assert await again.get_number(number.id) == number
        assert await again.get_business(owner.id) == owner
    finally:
        await reopened.close()


async def test_the_window_keeps_the_latest_inbound_message(biz: BusinessStore) -> None:
    owner, other = business("velo-paris"), business("atelier")
    alice = AccountId("a_alice")
    assert await biz.last_inbound(owner.id, alice) is None
    await biz.note_inbound(owner.id, alice, at=Timestamp(START + 10))
    await biz.note_inbound(owner.id, alice, at=Timestamp(START + 5))  # older: ignored
    assert await biz.last_inbound(owner.id, alice) == START + 10
    await biz.note_inbound(owner.id, alice, at=Timestamp(START + 20))
    assert await biz.last_inbound(owner.id, alice) == START + 20
    assert await biz.last_inbound(other.id, alice) is None


async def test_reach_counts_unique_people_in_a_rolling_period(biz: BusinessStore) -> None:
    one, two = WabaId(digits()), WabaId(digits())
    for n, at in enumerate([START, START + 100, START + 200]):
        await biz.note_reached(one, AccountId(f"a_{n}"), at=Timestamp(at))
    await biz.note_reached(one, AccountId("a_0"), at=Timestamp(START + 300))  # again: still one person
    await biz.note_reached(one, AccountId("a_1"), at=Timestamp(START + 50))  # older: ignored
    await biz.note_reached(two, AccountId("a_0"), at=Timestamp(START))
    assert await biz.reached_since(one, since=Timestamp(START)) == 3
    assert await biz.reached_since(one, since=Timestamp(START + 150)) == 2  # a_2 at 200, a_0 at 300
    assert await biz.reached_since(two, since=Timestamp(START)) == 1
    assert await biz.reached_since(one, since=Timestamp(START), at_most=2) == 2  # counted up to a bound
    assert await biz.reached_since(one, since=Timestamp(START), at_most=5) == 3
    assert await biz.was_reached(one, AccountId("a_1"), since=Timestamp(START + 100))
    assert not await biz.was_reached(one, AccountId("a_1"), since=Timestamp(START + 101))
    assert not await biz.was_reached(two, AccountId("a_2"), since=Timestamp(START))
    assert await biz.forget_reach_before(Timestamp(START + 150)) == 2  # a_1 of one, a_0 of two
    assert await biz.reached_since(one, since=Timestamp(START)) == 2
    assert await biz.reached_since(two, since=Timestamp(START)) == 0


async def test_erasure_forgets_windows_and_reach(biz: BusinessStore) -> None:
    owner, waba = business("velo-paris"), WabaId(digits())
    alice, bob = AccountId("a_alice"), AccountId("a_bob")
    for who in (alice, bob):
        await biz.note_inbound(owner.id, who, at=Timestamp(START))
        await biz.note_reached(waba, who, at=Timestamp(START))
    await biz.forget_business_person(alice)
    assert await biz.last_inbound(owner.id, alice) is None
    assert not await biz.was_reached(waba, alice, since=Timestamp(START))
    assert await biz.last_inbound(owner.id, bob) == START
    assert await biz.reached_since(waba, since=Timestamp(START)) == 1


async def test_a_business_blocks_and_unblocks_people(biz: BusinessStore) -> None:
    owner, other = business("velo-paris"), business("atelier")
    for b in (owner, other):
        await biz.create_business(b)
    alice = person(owner, "a_alice", "100000000000001", "ZZ.1000000000000000001")
    bob = person(owner, "a_bob", "100000000000002", "ZZ.1000000000000000002")
    for p in (alice, bob):
        await biz.claim_person(p)
    await biz.block_person(owner.id, bob.account, at=Timestamp(START + 1))
    await biz.block_person(owner.id, alice.account, at=Timestamp(START + 2))
    await biz.block_person(owner.id, bob.account, at=Timestamp(START + 9))  # again: the first time stays
    assert await biz.blocked_by_business(owner.id) == [bob, alice]
    assert await biz.count_blocked_by_business(owner.id) == 2
    assert await biz.is_blocked_by_business(owner.id, alice.account)
    assert not await biz.is_blocked_by_business(other.id, alice.account)
    assert await biz.unblock_person(owner.id, alice.account)
    assert not await biz.unblock_person(owner.id, alice.account)
    assert await biz.blocked_by_business(owner.id) == [bob]
    await biz.forget_business_person(bob.account)
    assert await biz.count_blocked_by_business(owner.id) == 0
