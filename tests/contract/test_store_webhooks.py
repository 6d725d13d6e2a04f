"""The WebhookStore contract (docs/business.md section 9), on every adapter: a business's webhook
(set, replaced, cleared, only for a business that exists), and the outbox — exact bytes kept, ids in
enqueue order, one head per business, due by ``next_at``, postponed, deleted, capped per business,
and what is waiting is still there when the store is opened again."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.webhook_ports import OutboxEvent, WebhookConfig, WebhookStore
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for, webhook_store_for
from tests.contract.conftest import START, Backend
from tests.contract.test_store_business import business

NONE: frozenset[BusinessId] = frozenset()


@pytest.fixture
def hooks(store: Store) -> WebhookStore:
    return webhook_store_for(store)


@pytest.fixture
def biz(store: Store) -> BusinessStore:
    return business_store_for(store)


async def made(biz: BusinessStore, slug: str) -> BusinessId:
    record = business(slug)
    assert await biz.create_business(record)
    return record.id


def config(owner: BusinessId, url: str = "https://bot.example/hook") -> WebhookConfig:
    return WebhookConfig(
        business=owner, callback_url=url, verify_token="vt", app_secret="s" * 32, updated_at=Timestamp(START)
    )


async def test_a_webhook_is_set_replaced_and_cleared(biz: BusinessStore, hooks: WebhookStore) -> None:
    shop = await made(biz, "velo")
    assert await hooks.get_webhook(shop) is None
    assert await hooks.set_webhook(config(shop))
    assert await hooks.set_webhook(config(shop, "https://other.example/h"))
    got = await hooks.get_webhook(shop)
    assert got is not None and got.callback_url == "https://other.example/h" and got.app_secret == "s" * 32
    assert "s" * 32 not in repr(got) and not got.public_only
    # A webhook a bot registered where only public addresses are allowed keeps that, and loses it
    # when the operator sets one.
    assert await hooks.set_webhook(replace(config(shop), public_only=True))
    assert (await hooks.get_webhook(shop)) == replace(config(shop), public_only=True)
    assert await hooks.set_webhook(config(shop))
    kept = await hooks.get_webhook(shop)
    assert kept is not None and not kept.public_only
    assert not await hooks.set_webhook(config(BusinessId("bz_nobody")))
    assert await hooks.clear_webhook(shop)
    assert not await hooks.clear_webhook(shop)
    assert await hooks.get_webhook(shop) is None


async def test_the_outbox_keeps_bytes_and_order_with_one_head_per_business(
    biz: BusinessStore, hooks: WebhookStore
) -> None:
    a, b = await made(biz, "alpha"), await made(biz, "bravo")
    bodies = [secrets.token_bytes(40) + b"\x00\xff" for _ in range(3)]
    events = [await hooks.enqueue(a, body, at=Timestamp(START + i), cap=10) for i, body in enumerate(bodies)]
    assert all(e is not None for e in events)
    ids = [e.id for e in events if e is not None]
    assert ids == sorted(ids)
    other = await hooks.enqueue(b, b'{"b":1}', at=Timestamp(START + 5), cap=10)
    assert other is not None
    assert await hooks.next_due(skip=NONE) == START
    assert await hooks.next_due(skip=frozenset({a})) == START + 5
    assert await hooks.next_due(skip=frozenset({a, b})) is None
    assert await claim(hooks, START + 2, skip=frozenset({a})) == []  # b's is not due yet
    assert [h.business for h in await claim(hooks, START + 10, skip=frozenset({a}))] == [b]
    assert [h.body for h in await claim(hooks, START + 10)] == [bodies[0]]  # a's oldest only
    assert await claim(hooks, START + 10) == []  # both are claimed: no other sender gets them
    # The leases end: both are due again, one head per business.
    heads = await claim(hooks, START + 10_010, limit=10)
    assert [(h.business, h.body) for h in heads] == [(a, bodies[0]), (b, b'{"b":1}')]
    assert await claim(hooks, START + 10_010) == []
    assert await hooks.next_due(skip=NONE) == START + 20_010

    # a's head is postponed: nothing of a's is due before it (order).
    await hooks.postpone(ids[0], attempts=1, next_at=Timestamp(START + 30_000))
    await hooks.delete_event(heads[1].id)
    assert await claim(hooks, START + 29_999) == []
    later = await claim(hooks, START + 30_000)
    assert [(e.id, e.attempts, e.body) for e in later] == [(ids[0], 1, bodies[0])]
    await hooks.delete_event(ids[0])
    assert [e.body for e in await claim(hooks, START + 30_000)] == [bodies[1]]
    assert await hooks.pending(a) == 2 and await hooks.pending(b) == 0


async def test_one_claim_at_a_time(biz: BusinessStore, hooks: WebhookStore) -> None:
    shops = [await made(biz, f"shop-{n}") for n in range(4)]
    for shop in shops:
        await hooks.enqueue(shop, b"x", at=Timestamp(START), cap=10)
    first = await claim(hooks, START, limit=3)
    second = await claim(hooks, START, limit=3)
    assert len(first) == 3 and len(second) == 1
    assert {e.business for e in first + second} == set(shops)


async def claim(
    hooks: WebhookStore, now: int, *, skip: frozenset[BusinessId] = NONE, limit: int = 10
) -> list[OutboxEvent]:
    return await hooks.claim_due(Timestamp(now), skip=skip, limit=limit, lease_until=Timestamp(now + 10_000))


async def test_a_business_outbox_is_capped(biz: BusinessStore, hooks: WebhookStore) -> None:
    a, b = await made(biz, "alpha"), await made(biz, "bravo")
    for i in range(3):
        assert await hooks.enqueue(a, b"x%d" % i, at=Timestamp(START), cap=3) is not None
    assert await hooks.enqueue(a, b"over", at=Timestamp(START), cap=3) is None
    assert await hooks.enqueue(b, b"other", at=Timestamp(START), cap=3) is not None
    assert await hooks.pending(a) == 3
    assert await hooks.enqueue(BusinessId("bz_nobody"), b"x", at=Timestamp(START), cap=3) is None


async def test_waiting_events_survive_reopening(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    shop = await made(business_store_for(first), "velo")
    assert await webhook_store_for(first).enqueue(shop, b"\x01body", at=Timestamp(START), cap=5) is not None
    await first.close()
    again = backend.make()
    await again.open()
    try:
        heads = await claim(webhook_store_for(again), START)
        assert [h.body for h in heads] == [b"\x01body"]
    finally:
        await again.close()
