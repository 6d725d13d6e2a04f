"""PostgreSQL only: several server processes share one database. Two stores (two pools) stand in
for two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from passerelle.domain.ids import DeviceId, MailboxPos
from passerelle.service.ports import Store
from passerelle.service.records import OneTimeKey
from tests.contract.conftest import Backend, ManualClock, Person, message, new_person, postgres_backend

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg() -> AsyncIterator[Backend]:
    async with postgres_backend(ManualClock()) as backend:
        yield backend


@pytest.fixture
async def store(pg: Backend) -> AsyncIterator[Store]:
    opened = pg.make()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def second_store(pg: Backend) -> AsyncIterator[Store]:
    """Another process's store on the same database."""
    other = pg.make()
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def _append_many(store: Store, sender: Person, target: DeviceId, prefix: str, n: int) -> list[int]:
    positions: list[int] = []
    for i in range(n):
        [result] = await store.append([message(sender, [target], client_id=f"{prefix}{i}")])
        positions.append(result.items[0].pos)
    return positions


async def test_two_processes_give_a_device_contiguous_positions(store: Store, second_store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)

    runs = await asyncio.gather(
        *(_append_many(s, alice, bob.device.id, f"{n}-", 30) for n, s in enumerate([store, second_store] * 3))
    )

    handed = sorted(p for run in runs for p in run)
    assert handed == list(range(1, 181))
    items = await second_store.fetch(bob.device.id, after=MailboxPos(0), limit=1000)
    assert [i.pos for i in items] == handed


async def test_two_processes_agree_on_a_repeated_client_id(store: Store, second_store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    same = message(alice, [bob.device.id], client_id="same")

    results = await asyncio.gather(*(s.append([same]) for s in [store, second_store] * 5))

    firsts = [r[0] for r in results if not r[0].duplicate]
    assert len(firsts) == 1
    assert {r[0].message_id for r in results} == {firsts[0].message_id}
    assert len(await store.fetch(bob.device.id, after=MailboxPos(0), limit=100)) == 1


async def test_two_processes_never_hand_out_a_key_twice(store: Store, second_store: Store) -> None:
    bob = await new_person(store)
    await store.add_one_time_keys(
        bob.device.id, [OneTimeKey(key_id=f"k{i}", key=f"K{i}", signature="S") for i in range(30)]
    )

    claims = await asyncio.gather(*(s.claim_keys(bob.account.id) for s in [store, second_store] * 20))

    handed = [c[0].one_time_key.key_id for c in claims if c[0].one_time_key is not None]
    assert sorted(handed) == sorted(f"k{i}" for i in range(30))
