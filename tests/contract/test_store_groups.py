"""The Store contract of groups: a group body stored once and referenced from every member device's
mailbox, bodies going with acks and expiry, and members, roles, fan-out lists and invite links.
Every test runs on each adapter (see conftest.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import ClientMessageId, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.service.groups.records import InviteRecord, Role
from passerelle.service.ports import Store
from passerelle.service.records import OutgoingMessage
from passerelle.storage import MemoryStore
from tests.contract.conftest import DAY_MS, START, Backend, Person, device_record, new_person

ZERO = MailboxPos(0)
GROUP = ConversationId("g_contract")
BODY = b'{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgA..."}'


async def count_rows(store: Store, backend: Backend, table: str) -> int:
    """Rows of a table, read beside the store (the contract is about what is kept, not only shown)."""
    if isinstance(store, MemoryStore):
        return len(getattr(store.database, table))
    sql = f"SELECT count(*) FROM {table}"
    if backend.kind == "sqlite":
        path: Any = store._engine._path  # type: ignore[attr-defined]
        with sqlite3.connect(path) as conn:
            return int(conn.execute(sql).fetchone()[0])

    async def run(conn: Any) -> int:
        return int(await conn.fetchval(sql))

    return int(await store._engine.run(run))  # type: ignore[attr-defined]


def group_message(
    sender: Person,
    fanout: list[DeviceId],
    *,
    own: dict[DeviceId, bytes] | None = None,
    client_id: str = "g1",
    expires_at: int = START + DAY_MS,
) -> OutgoingMessage:
    return OutgoingMessage(
        kind="msg",
        conv=GROUP,
        sender=sender.account.id,
        sender_device=sender.device.id,
        client_id=ClientMessageId(client_id),
        ts=Timestamp(START),
        expires_at=Timestamp(expires_at),
        payloads=tuple((own or {}).items()),
        shared_body=BODY,
        shared_to=tuple(fanout),
    )


async def test_a_group_body_is_stored_once_and_every_member_device_gets_it(
    store: Store, backend: Backend
) -> None:
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    dave = await new_person(store)
    fanout = [bob.device.id, carol.device.id, dave.device.id]
    share = b'{"algorithm":"m.olm.v1.curve25519-aes-sha2","for":"carol"}'

    [result] = await store.append([group_message(alice, fanout, own={carol.device.id: share})])

    assert not result.duplicate
    assert [(i.device, i.body) for i in result.all_items()] == [
        (carol.device.id, share),
        (bob.device.id, BODY),
        (carol.device.id, BODY),
        (dave.device.id, BODY),
    ]
    for device in fanout:
        fetched = await store.fetch(device, after=ZERO, limit=10)
        assert [i.body for i in fetched][-1] == BODY
        assert all(i.message_id == result.message_id and i.conv == GROUP for i in fetched)
    # carol's room-key share comes before the body it opens.
    assert [i.body for i in await store.fetch(carol.device.id, after=ZERO, limit=10)] == [share, BODY]
    assert await count_rows(store, backend, "bodies") == 1


async def test_the_group_items_come_back_compactly_one_record_for_the_fan_out(store: Store) -> None:
    alice, bob, carol, dave = [await new_person(store) for _ in range(4)]
    gone = device_record(dave.account.id, name="old phone")
    await store.add_device(gone, token_hash="t-gone-2", token_expires=Timestamp(START + DAY_MS))
    await store.remove_device(gone.id)
    fanout = [bob.device.id, carol.device.id, gone.id, dave.device.id]
    share = b'{"algorithm":"m.olm.v1.curve25519-aes-sha2","for":"bob"}'

    [result] = await store.append([group_message(alice, fanout, own={bob.device.id: share})])

    # Own payloads stay MailboxItems; the body is one record with the (device, position) pairs.
    assert [(i.device, i.body) for i in result.items] == [(bob.device.id, share)]
    shared = result.shared
    assert shared is not None
    assert list(shared.devices) == [bob.device.id, carol.device.id, dave.device.id]
    assert (shared.body, shared.message_id, shared.conv) == (BODY, result.message_id, GROUP)
    for device, pos in zip(shared.devices, shared.positions, strict=True):
        [*_, last] = await store.fetch(device, after=ZERO, limit=10)
        assert (last.pos, last.body, last.sender_device) == (pos, BODY, alice.device.id)
    # bob's room-key share comes before the body it opens.
    assert result.items[0].pos < shared.positions[0]


async def test_a_repeated_group_send_stores_nothing_more(store: Store, backend: Backend) -> None:
    alice, bob = await new_person(store), await new_person(store)
    [first] = await store.append([group_message(alice, [bob.device.id])])
    [again] = await store.append([group_message(alice, [bob.device.id])])
    assert again.duplicate and again.message_id == first.message_id and again.items == ()
    assert again.shared is None
    assert len(await store.fetch(bob.device.id, after=ZERO, limit=10)) == 1
    assert await count_rows(store, backend, "bodies") == 1


async def test_a_removed_device_gets_no_group_item(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    gone = device_record(bob.account.id, name="old laptop")
    await store.add_device(gone, token_hash="t-gone", token_expires=Timestamp(START + DAY_MS))
    await store.remove_device(gone.id)
    [result] = await store.append([group_message(alice, [bob.device.id, gone.id])])
    assert [i.device for i in result.all_items()] == [bob.device.id]
    assert await store.fetch(gone.id, after=ZERO, limit=10) == []


async def test_bodies_go_once_acked_everywhere_or_expired(store: Store, backend: Backend) -> None:
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    [kept] = await store.append([group_message(alice, [bob.device.id, carol.device.id], client_id="a")])
    [short] = await store.append(
        [group_message(alice, [bob.device.id], client_id="b", expires_at=START + 1000)]
    )
    await store.ack([(bob.device.id, kept.all_items()[0].pos)])
    now, window = Timestamp(START + 10), Timestamp(START - DAY_MS)
    await store.delete_expired(now=now, idempotency_before=window)
    assert await count_rows(store, backend, "bodies") == 2  # carol has not acked yet

    await store.ack([(carol.device.id, kept.all_items()[1].pos)])
    await store.delete_expired(now=now, idempotency_before=window)
    assert await count_rows(store, backend, "bodies") == 1
    assert [i.message_id for i in await store.fetch(bob.device.id, after=ZERO, limit=10)] == [
        short.message_id
    ]

    await store.delete_expired(now=Timestamp(START + 1000), idempotency_before=window)
    assert await count_rows(store, backend, "bodies") == 0
    assert await store.fetch(bob.device.id, after=ZERO, limit=10) == []


async def test_groups_keep_members_roles_and_fanout_lists(store: Store) -> None:
    alice = await new_person(store, app="photo")
    bob = await new_person(store, app="chat")
    carol = await new_person(store, app="social")
    laptop = device_record(bob.account.id, name="laptop")
    await store.add_device(laptop, token_hash="t-laptop", token_expires=Timestamp(START + DAY_MS))

    record = await store.create_group(
        GROUP, alice.account.id, [bob.account.id, bob.account.id], now=Timestamp(START)
    )

    assert record.kind is ConversationKind.GROUP
    assert set(record.members) == {alice.account.id, bob.account.id}
    assert await store.group_roles(GROUP) == {alice.account.id: Role.ADMIN, bob.account.id: Role.MEMBER}
    assert await store.add_members(GROUP, [bob.account.id, carol.account.id]) == [carol.account.id]
    fanout = await store.group_devices(GROUP)
    assert fanout.apps == {alice.account.id: "photo", bob.account.id: "chat", carol.account.id: "social"}
    assert set(fanout.devices[bob.account.id]) == {bob.device.id, laptop.id}
    assert await store.groups_of(carol.account.id) == [GROUP]
    assert await store.shares_conversation(alice.account.id, carol.account.id)

    assert await store.set_role(GROUP, carol.account.id, Role.ADMIN)
    assert await store.remove_member(GROUP, bob.account.id)
    assert not await store.remove_member(GROUP, bob.account.id)
    assert await store.group_roles(GROUP) == {alice.account.id: Role.ADMIN, carol.account.id: Role.ADMIN}
    assert bob.account.id not in (await store.group_devices(GROUP)).devices
    # A direct conversation is not a group.
    direct = ConversationId("d_not_a_group")
    await store.ensure_direct(direct, alice.account.id, bob.account.id, now=Timestamp(START))
    assert await store.group_roles(direct) == {}


async def test_invite_links_are_found_by_their_token_hash_and_revoked(store: Store) -> None:
    alice = await new_person(store)
    await store.create_group(GROUP, alice.account.id, [], now=Timestamp(START))
    invite = InviteRecord(
        id="i_one", token_hash="ab" * 32, conv=GROUP, created_by=alice.account.id, created_at=Timestamp(START)
    )
    await store.create_invite(invite)
    assert await store.find_invite("ab" * 32) == invite
    assert await store.list_invites(GROUP) == [invite]
    assert not await store.delete_invite(ConversationId("g_other"), "i_one")
    assert await store.delete_invite(GROUP, "i_one")
    assert await store.find_invite("ab" * 32) is None
    assert await store.list_invites(GROUP) == []


async def test_a_removal_by_an_admin_bars_joins_until_an_admin_adds_the_person_back(store: Store) -> None:
    alice = await new_person(store, app="photo")
    bob = await new_person(store, app="chat")
    carol = await new_person(store, app="social")
    await store.create_group(
        GROUP, alice.account.id, [bob.account.id, carol.account.id], now=Timestamp(START)
    )

    # Leaving (no bar): a join by link lets the person back in.
    assert await store.remove_member(GROUP, carol.account.id)
    assert not await store.is_barred(GROUP, carol.account.id)
    assert await store.join_group(GROUP, carol.account.id)
    assert carol.account.id in await store.group_roles(GROUP)

    # Removed by an admin: barred, and a join adds nothing.
    assert await store.remove_member(GROUP, bob.account.id, barred_at=Timestamp(START + 1))
    assert await store.is_barred(GROUP, bob.account.id)
    assert not await store.join_group(GROUP, bob.account.id)
    assert bob.account.id not in await store.group_roles(GROUP)
    assert not await store.is_barred(ConversationId("g_other"), bob.account.id)

    # An admin's add lifts the bar; a second removal bars again (idempotent).
    assert await store.add_members(GROUP, [bob.account.id]) == [bob.account.id]
    assert not await store.is_barred(GROUP, bob.account.id)
    assert await store.remove_member(GROUP, bob.account.id, barred_at=Timestamp(START + 2))
    assert await store.remove_member(GROUP, carol.account.id, barred_at=Timestamp(START + 2))
    assert await store.is_barred(GROUP, carol.account.id)
    # Removing someone who is not a member bars nobody.
    dave = await new_person(store)
    assert not await store.remove_member(GROUP, dave.account.id, barred_at=Timestamp(START + 3))
    assert not await store.is_barred(GROUP, dave.account.id)
