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
    await hooks.settle(
        done=[heads[1].id], retry=[replace(heads[0], attempts=1, next_at=Timestamp(START + 30_000))]
    )
    assert await claim(hooks, START + 29_999) == []
    later = await claim(hooks, START + 30_000)
    assert [(e.id, e.attempts, e.body) for e in later] == [(ids[0], 1, bodies[0])]
    await hooks.settle(done=[ids[0]], retry=[])
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


async def test_a_batch_is_claimed_in_order_and_settled_in_one_go(
    biz: BusinessStore, hooks: WebhookStore
) -> None:
    """A sender takes a business's next due events in one claim, posts them one after the other
    and settles them in one transaction: what was posted is deleted, the first failure is
    postponed with its bytes and the rest wait behind it, in order; a sender that stopped after
    posting and before settling leaves them all to be taken again (at least once)."""
    a, b = await made(biz, "alpha"), await made(biz, "bravo")
    bodies = [b"\x00a%d\xff" % n for n in range(6)]
    for n, body in enumerate(bodies[:5]):
        assert await hooks.enqueue(a, body, at=Timestamp(START + n), cap=10) is not None
    assert await hooks.enqueue(b, b"b0", at=Timestamp(START + 2), cap=10) is not None
    assert await hooks.enqueue(a, bodies[5], at=Timestamp(START + 100), cap=10) is not None  # not due yet

    def lease(now: int) -> Timestamp:
        return Timestamp(now + 10_000)

    got = await hooks.claim_due(
        Timestamp(START + 50), skip=NONE, limit=10, lease_until=lease(START + 50), batch=4
    )
    assert [(e.business, e.body) for e in got] == [(a, bodies[n]) for n in range(4)] + [(b, b"b0")]
    assert [e.id for e in got[:4]] == sorted(e.id for e in got[:4])
    # Everything claimed is leased; a's fifth is not taken while its head is leased (order).
    assert (
        await hooks.claim_due(
            Timestamp(START + 200), skip=NONE, limit=10, lease_until=lease(START + 200), batch=4
        )
        == []
    )

    # a's first two were delivered, the third failed, the fourth was not posted; b's delivered.
    now = START + 300
    failed = replace(got[2], attempts=1, next_at=Timestamp(now + 5_000))
    await hooks.settle(
        done=[got[0].id, got[1].id, got[4].id], retry=[failed, replace(got[3], next_at=Timestamp(now))]
    )
    assert await hooks.pending(a) == 4 and await hooks.pending(b) == 0
    assert await hooks.claim_due(Timestamp(now), skip=NONE, limit=10, lease_until=lease(now), batch=10) == []
    again = await hooks.claim_due(
        Timestamp(now + 5_000), skip=NONE, limit=10, lease_until=lease(now + 5_000), batch=10
    )
    assert [(e.body, e.attempts) for e in again] == [
        (bodies[2], 1),
        (bodies[3], 0),
        (bodies[4], 0),
        (bodies[5], 0),
    ]

    # The sender stops after posting them and before settling: at the lease's end they are all
    # taken again, the same bytes in the same order.
    after = await hooks.claim_due(
        Timestamp(now + 15_000), skip=NONE, limit=10, lease_until=lease(now + 15_000), batch=10
    )
    assert [(e.id, e.body, e.attempts) for e in after] == [(e.id, e.body, e.attempts) for e in again]
    await hooks.settle(done=[e.id for e in after], retry=[])
    assert await hooks.pending(a) == 0


async def test_many_events_are_enqueued_in_order_in_one_go_up_to_the_cap(
    biz: BusinessStore, hooks: WebhookStore
) -> None:
    a = await made(biz, "alpha")
    assert await hooks.enqueue(a, b"first", at=Timestamp(START), cap=4) is not None
    got = await hooks.enqueue_many(a, [b"x0", b"x1", b"x2", b"x3"], at=Timestamp(START + 1), cap=4)
    assert [e.body if e is not None else None for e in got] == [b"x0", b"x1", b"x2", None]
    claimed = await hooks.claim_due(
        Timestamp(START + 1), skip=NONE, limit=1, lease_until=Timestamp(START + 10_000), batch=10
    )
    assert [e.body for e in claimed] == [b"first", b"x0", b"x1", b"x2"]
    assert await hooks.enqueue_many(BusinessId("bz_nobody"), [b"x"], at=Timestamp(START), cap=4) == [None]
