"""The send pipeline's acks: they are committed on their own schedule, ``ack_delay_s`` after the
first, so that the devices of one group message, acking one by one, are deleted in one transaction;
a message that comes meanwhile is stored at once, without them; an ack counts at once for a device
that reconnects, and for a count of what waits in a mailbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from passerelle.domain.ids import DeviceId, MailboxPos
from passerelle.service.messaging.pipeline import SendPipeline
from passerelle.storage import SqliteStore
from tests.contract.conftest import ManualClock, Person, message, new_person

ACK_DELAY_S = 0.2


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "pipeline.db", clock=ManualClock())
    await store.open()
    yield store
    await store.close()


async def _running(pipeline: SendPipeline) -> asyncio.Task[None]:
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0)
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _one_item_each(pipeline: SendPipeline, sender: Person, devices: list[DeviceId]) -> list[MailboxPos]:
    results = [await pipeline.submit(message(sender, [d], client_id=f"m-{d}")) for d in devices]
    return [r.items[0].pos for r in results]


async def test_acks_arriving_one_by_one_are_deleted_in_one_transaction(store: SqliteStore) -> None:
    ack_transactions: list[int] = []
    pipeline = SendPipeline(store, ack_delay_s=ACK_DELAY_S, on_acks=ack_transactions.append)
    task = await _running(pipeline)
    sender = await new_person(store)
    members = [await new_person(store) for _ in range(3)]
    devices = [m.device.id for m in members]
    positions = await _one_item_each(pipeline, sender, devices)

    for device, pos in zip(devices, positions, strict=True):
        pipeline.ack(device, pos)
        await asyncio.sleep(0.01)  # as a fan-out's acks come: one by one
        assert pipeline.pending_ack(device) == pos  # counted at once for a reconnect
    assert await pipeline.drain(timeout_s=5)

    assert ack_transactions == [3]
    for device in devices:
        assert await store.fetch(device, after=MailboxPos(0), limit=10) == []
    await _stop(task)


async def test_a_message_that_comes_meanwhile_waits_neither_for_the_acks_nor_with_them(
    store: SqliteStore,
) -> None:
    ack_transactions: list[int] = []
    pipeline = SendPipeline(store, ack_delay_s=ACK_DELAY_S, on_acks=ack_transactions.append)
    task = await _running(pipeline)
    sender, bob, carol = await new_person(store), await new_person(store), await new_person(store)
    [pos] = await _one_item_each(pipeline, sender, [bob.device.id])
    pipeline.ack(bob.device.id, pos)

    stored = await asyncio.wait_for(pipeline.submit(message(sender, [carol.device.id], client_id="next")), 2)

    assert stored.items[0].device == carol.device.id
    assert ack_transactions == []  # not due yet: the message's commit did not delete them
    assert len(await store.fetch(bob.device.id, after=MailboxPos(0), limit=10)) == 1
    assert await pipeline.drain(timeout_s=5)
    assert ack_transactions == [1]  # then on their own, once due
    assert await store.fetch(bob.device.id, after=MailboxPos(0), limit=10) == []
    await _stop(task)


async def test_without_a_delay_acks_are_deleted_at_once(store: SqliteStore) -> None:
    ack_transactions: list[int] = []
    pipeline = SendPipeline(store, on_acks=ack_transactions.append)
    task = await _running(pipeline)
    sender, bob = await new_person(store), await new_person(store)
    [pos] = await _one_item_each(pipeline, sender, [bob.device.id])

    pipeline.ack(bob.device.id, pos)
    assert await pipeline.drain(timeout_s=ACK_DELAY_S / 2)

    assert ack_transactions == [1]
    assert await store.fetch(bob.device.id, after=MailboxPos(0), limit=10) == []
    await _stop(task)


async def test_a_count_of_what_waits_first_has_the_devices_acks_committed(store: SqliteStore) -> None:
    # Message requests count a stranger's unacknowledged messages: acks waiting for company must
    # not count as unacknowledged.
    pipeline = SendPipeline(store, ack_delay_s=5.0)
    task = await _running(pipeline)
    sender, bob = await new_person(store), await new_person(store)
    [pos] = await _one_item_each(pipeline, sender, [bob.device.id])
    pipeline.ack(bob.device.id, pos)
    await asyncio.sleep(0.05)

    await asyncio.wait_for(pipeline.settle_acks([bob.device.id]), 2)

    assert await store.fetch(bob.device.id, after=MailboxPos(0), limit=10) == []
    await asyncio.wait_for(pipeline.settle_acks([bob.device.id]), 0.1)  # nothing pending: at once
    await _stop(task)
