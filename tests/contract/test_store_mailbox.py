"""The Store contract of the mailbox: order, positions, idempotency, expiry, atomicity, durability,
and commit order under concurrent writers. Every test runs on each adapter (see conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import cast

import pytest

from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.service.ports import Store
from passerelle.service.records import AppendResult, MailboxItem, OutgoingMessage
from tests.contract.conftest import DAY_MS, START, Backend, Person, device_record, message, new_person

ZERO = MailboxPos(0)


async def everything(store: Store, device: DeviceId) -> list[MailboxItem]:
    return await store.fetch(device, after=ZERO, limit=10_000)


async def test_appended_items_come_back_in_order_with_growing_positions(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    targets = [bob.device.id, alice.device.id]

    results = await store.append([message(alice, targets, client_id=f"m{i}", ts=START + i) for i in range(3)])
    results += await store.append([message(alice, targets, client_id="m3", ts=START + 9)])

    assert not any(r.duplicate for r in results)
    assert len({r.message_id for r in results}) == 4
    for r in results:
        assert [item.device for item in r.items] == targets
        assert all(item.message_id == r.message_id for item in r.items)
    bob_items = await everything(store, bob.device.id)
    assert bob_items == [r.items[0] for r in results]
    assert [i.pos for i in bob_items] == sorted({i.pos for i in bob_items})
    assert bob_items[0].body == f"to {bob.device.id} at {START}".encode()
    assert (bob_items[0].kind, bob_items[0].sender, bob_items[0].sender_device) == (
        "msg",
        alice.account.id,
        alice.device.id,
    )
    assert await everything(store, alice.device.id) == [r.items[1] for r in results]


async def test_positions_of_a_device_only_grow(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    seen: list[int] = []
    for round_ in range(5):
        batch = [message(alice, [bob.device.id], client_id=f"r{round_}-{i}") for i in range(7)]
        results = await store.append(batch)
        seen += [r.items[0].pos for r in results]
        await store.ack([(bob.device.id, MailboxPos(seen[-1]))])

    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


async def test_fetch_pages_with_after_and_limit(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    results = await store.append([message(alice, [bob.device.id], client_id=f"m{i}") for i in range(10)])
    positions = [r.items[0].pos for r in results]

    first = await store.fetch(bob.device.id, after=ZERO, limit=4)
    rest = await store.fetch(bob.device.id, after=first[-1].pos, limit=100)

    assert [i.pos for i in first] == positions[:4]
    assert [i.pos for i in rest] == positions[4:]
    assert await store.fetch(bob.device.id, after=positions[-1], limit=100) == []
    assert await store.fetch(DeviceId("dev_unknown"), after=ZERO, limit=100) == []


async def test_fetch_returns_unexpired_items_only(store: Store, backend: Backend) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    await store.append(
        [
            message(alice, [bob.device.id], client_id="short", expires_at=START + 1000),
            message(alice, [bob.device.id], client_id="long", expires_at=START + 5000),
        ]
    )

    assert len(await everything(store, bob.device.id)) == 2
    backend.clock.now = START + 1000
    assert [i.expires_at for i in await everything(store, bob.device.id)] == [START + 5000]
    backend.clock.now = START + 5000
    assert await everything(store, bob.device.id) == []


async def four_messages_to_two(store: Store) -> tuple[Person, Person, Person, list[AppendResult]]:
    """Alice sends four messages to Bob and Carol: their people and the append's results."""
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    results = await store.append(
        [message(alice, [bob.device.id, carol.device.id], client_id=f"m{i}") for i in range(4)]
    )
    return alice, bob, carol, results


async def test_ack_deletes_up_to_a_position_for_that_device_only(store: Store) -> None:
    _, bob, carol, results = await four_messages_to_two(store)
    bob_positions = [r.items[0].pos for r in results]

    assert await store.ack([(bob.device.id, bob_positions[1])]) == 2
    assert [i.pos for i in await everything(store, bob.device.id)] == bob_positions[2:]
    assert len(await everything(store, carol.device.id)) == 4
    assert await store.ack([(bob.device.id, bob_positions[1])]) == 0

    carol_last = results[-1].items[1].pos
    assert await store.ack([(bob.device.id, bob_positions[-1]), (carol.device.id, carol_last)]) == 6
    assert await everything(store, bob.device.id) == []
    assert await everything(store, carol.device.id) == []
    assert await store.ack([]) == 0


async def test_drop_deletes_only_the_named_items_of_that_device(store: Store) -> None:
    alice, bob, carol, results = await four_messages_to_two(store)
    bob_positions = [r.items[0].pos for r in results]
    carol_positions = [r.items[1].pos for r in results]

    assert await store.drop(bob.device.id, [bob_positions[1], bob_positions[3]]) == 2
    assert [i.pos for i in await everything(store, bob.device.id)] == [bob_positions[0], bob_positions[2]]
    assert [i.pos for i in await everything(store, carol.device.id)] == carol_positions
    assert await store.drop(bob.device.id, [bob_positions[1]]) == 0
    assert await store.drop(bob.device.id, []) == 0
    # A later append still gets a position above every dropped one.
    [later] = await store.append([message(alice, [bob.device.id], client_id="m9")])
    assert later.items[0].pos > bob_positions[3]


async def test_count_waiting_counts_one_sender_s_unacked_messages_in_one_conversation(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    carol = await new_person(store)
    conv = ConversationId("d_alice_bob")
    results = await store.append(
        [message(alice, [bob.device.id, carol.device.id], client_id=f"m{i}", conv=conv) for i in range(3)]
        + [message(alice, [bob.device.id], client_id="other", conv="d_elsewhere")]
        + [message(carol, [bob.device.id], client_id="c0", conv=conv)]
        + [message(alice, [bob.device.id], kind="receipt", conv=conv)]
    )

    def count(
        devices: list[DeviceId], *, conv: ConversationId, sender: AccountId, up_to: int = 50
    ) -> Awaitable[int]:
        return store.count_waiting(devices, conv=conv, sender=sender, up_to=up_to)

    assert await count([bob.device.id], conv=conv, sender=alice.account.id) == 3
    assert await count([bob.device.id, carol.device.id], conv=conv, sender=alice.account.id) == 3
    assert await count([bob.device.id], conv=conv, sender=carol.account.id) == 1
    assert await count([], conv=conv, sender=alice.account.id) == 0
    # Acknowledged messages no longer wait; the most any one device holds is the answer.
    await store.ack([(bob.device.id, results[1].items[0].pos)])
    assert await count([bob.device.id], conv=conv, sender=alice.account.id) == 1
    assert await count([bob.device.id, carol.device.id], conv=conv, sender=alice.account.id) == 3
    # The count stops at the bound it is given: its cost does not grow with the mailbox.
    assert await count([bob.device.id, carol.device.id], conv=conv, sender=alice.account.id, up_to=2) == 2
    assert await count([carol.device.id], conv=conv, sender=alice.account.id, up_to=0) == 0


async def test_was_stored_remembers_client_ids_per_sending_device(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    await store.append([message(alice, [bob.device.id], client_id="m1")])
    assert await store.was_stored(alice.device.id, ClientMessageId("m1"))
    assert not await store.was_stored(alice.device.id, ClientMessageId("m2"))
    assert not await store.was_stored(bob.device.id, ClientMessageId("m1"))


async def test_an_append_can_carry_acks_in_the_same_transaction(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    first = await store.append([message(alice, [bob.device.id], client_id=f"a{i}") for i in range(3)])
    acked = first[1].items[0].pos
    second = await store.append(
        [message(alice, [bob.device.id], client_id="b0")], acks=[(bob.device.id, acked)]
    )
    left = [i.pos for i in await everything(store, bob.device.id)]
    assert left == [first[2].items[0].pos, second[0].items[0].pos]
    # Acks alone (no message to store) still apply.
    assert await store.append([], acks=[(bob.device.id, second[0].items[0].pos)]) == []
    assert await everything(store, bob.device.id) == []


async def test_a_repeated_client_id_returns_the_first_result_and_stores_nothing(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    [first] = await store.append([message(alice, [bob.device.id], client_id="once", ts=START)])
    await store.ack([(bob.device.id, first.items[0].pos)])

    [again] = await store.append(
        [message(alice, [bob.device.id], client_id="once", ts=START + 50, expires_at=START + 99, body=b"x")]
    )

    assert again.duplicate
    assert (again.message_id, again.ts, again.expires_at) == (first.message_id, first.ts, first.expires_at)
    assert again.items == ()
    assert await everything(store, bob.device.id) == []
    # Client ids are per sending device.
    bob_says = await store.append([message(bob, [alice.device.id], client_id="once")])
    assert not bob_says[0].duplicate


async def test_a_client_id_repeated_within_a_batch_is_stored_once(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    batch = [
        message(alice, [bob.device.id], client_id="a", ts=START),
        message(alice, [bob.device.id], client_id="b", ts=START + 1),
        message(alice, [bob.device.id], client_id="a", ts=START + 2),
    ]

    first, second, repeat = await store.append(batch)

    assert (first.duplicate, second.duplicate, repeat.duplicate) == (False, False, True)
    assert (repeat.message_id, repeat.ts, repeat.items) == (first.message_id, first.ts, ())
    assert [i.message_id for i in await everything(store, bob.device.id)] == [
        first.message_id,
        second.message_id,
    ]


async def test_notices_are_never_deduplicated(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    receipt = message(alice, [bob.device.id], kind="receipt")

    results = await store.append([receipt, receipt])
    results += await store.append([receipt])

    assert not any(r.duplicate for r in results)
    assert len({r.message_id for r in results}) == 3
    assert [i.kind for i in await everything(store, bob.device.id)] == ["receipt"] * 3


async def test_a_payload_for_a_removed_device_is_dropped(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    gone = device_record(bob.account.id, name="old phone")
    await store.add_device(gone, token_hash="gone-token", token_expires=Timestamp(START + DAY_MS))
    await store.remove_device(gone.id)

    [result] = await store.append([message(alice, [bob.device.id, gone.id], client_id="m")])

    assert [i.device for i in result.items] == [bob.device.id]
    assert await everything(store, gone.id) == []
    assert len(await everything(store, bob.device.id)) == 1


async def test_the_janitor_deletes_expired_items_and_old_client_ids(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    await store.append(
        [
            message(alice, [bob.device.id], client_id="old", ts=START, expires_at=START + 1000),
            message(alice, [bob.device.id], client_id="recent", ts=START + 900, expires_at=START + 1000),
            message(alice, [bob.device.id], client_id="kept", ts=START, expires_at=START + DAY_MS),
        ]
    )

    assert await store.delete_expired(now=Timestamp(START + 999), idempotency_before=Timestamp(START)) == 0
    deleted = await store.delete_expired(
        now=Timestamp(START + 1000), idempotency_before=Timestamp(START + 500)
    )

    assert deleted >= 3  # two items and the record of "old" (expired tokens may go too)
    assert [i.ts for i in await store.fetch(bob.device.id, after=ZERO, limit=10)] == [START]
    again = await store.append(
        [
            message(alice, [bob.device.id], client_id="old"),  # forgotten: stored anew
            message(alice, [bob.device.id], client_id="recent"),  # inside the window: remembered
            message(alice, [bob.device.id], client_id="kept"),  # its item is still there
        ]
    )
    assert [r.duplicate for r in again] == [False, True, True]


async def test_a_failing_batch_stores_nothing(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    broken = OutgoingMessage(
        kind="msg",
        conv=message(alice, []).conv,
        sender=alice.account.id,
        sender_device=alice.device.id,
        client_id=ClientMessageId("broken"),
        ts=Timestamp(START),
        expires_at=Timestamp(START + DAY_MS),
        payloads=((bob.device.id, cast(bytes, None)),),  # violates NOT NULL in the database
    )

    with pytest.raises(Exception, match=r"(?i)null"):
        await store.append([message(alice, [bob.device.id], client_id="fine"), broken])

    assert await everything(store, bob.device.id) == []
    results = await store.append([message(alice, [bob.device.id], client_id="fine")])
    assert not results[0].duplicate
    assert await everything(store, bob.device.id) == list(results[0].items)


async def test_everything_survives_closing_and_reopening(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    alice = await new_person(store)
    bob = await new_person(store)
    [kept] = await store.append([message(alice, [bob.device.id], client_id="kept")])
    [acked] = await store.append([message(alice, [alice.device.id], client_id="acked")])
    await store.ack([(alice.device.id, acked.items[0].pos)])
    await store.close()

    reopened = backend.make()
    await reopened.open()
    try:
        assert await reopened.get_account(alice.account.id) == alice.account
        assert await reopened.get_device(bob.device.id) == bob.device
        assert await everything(reopened, bob.device.id) == list(kept.items)
        [repeat, fresh] = await reopened.append(
            [
                message(alice, [bob.device.id], client_id="kept"),
                message(alice, [alice.device.id], client_id="after"),
            ]
        )
        assert repeat.duplicate
        assert repeat.message_id == kept.message_id
        # A position acked and deleted before the restart is never handed out again.
        assert fresh.items[0].pos > acked.items[0].pos
        assert fresh.message_id not in {kept.message_id, acked.message_id}
    finally:
        await reopened.close()


async def test_a_reader_never_finds_a_new_item_below_a_position_it_has_seen(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    writers_done = asyncio.Event()

    async def writer(name: str) -> None:
        for i in range(25):
            await store.append([message(alice, [bob.device.id], client_id=f"{name}-{i}")])

    async def writers() -> None:
        await asyncio.gather(*(writer(f"w{n}") for n in range(4)))
        writers_done.set()

    async def reader() -> int:
        seen: set[int] = set()
        rounds = 0
        while True:
            finished = writers_done.is_set()
            positions = [i.pos for i in await everything(store, bob.device.id)]
            assert positions == sorted(positions)
            highest = max(seen, default=0)
            newly_below = {p for p in positions if p <= highest} - seen
            assert not newly_below, f"items appeared below position {highest}: {sorted(newly_below)}"
            seen.update(positions)
            rounds += 1
            if finished:
                assert len(seen) == 100
                return rounds

    async with asyncio.timeout(60):
        _, rounds = await asyncio.gather(writers(), reader())
    assert rounds >= 1
