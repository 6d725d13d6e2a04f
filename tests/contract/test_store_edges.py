"""The Store contract at its edges: what erasure does to groups, writes that name someone who is
gone, and concurrent sends of one client id. Written with the in-memory store, so that its rules
are the SQL stores' rules; every test runs on each adapter (see conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from passerelle.domain.errors import NotFound
from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, MailboxPos, Timestamp
from passerelle.service.groups.records import InviteRecord, Role
from passerelle.service.ports import Store
from passerelle.service.records import OutgoingMessage
from tests.contract.conftest import DAY_MS, START, Person, message, new_person

NOW = Timestamp(START)
ZERO = MailboxPos(0)
GROUP = ConversationId("g_edges")


def group_body(sender: Person, fanout: list[Person], body: bytes, *, client_id: str) -> OutgoingMessage:
    return OutgoingMessage(
        kind="msg",
        conv=GROUP,
        sender=sender.account.id,
        sender_device=sender.device.id,
        client_id=ClientMessageId(client_id),
        ts=NOW,
        expires_at=Timestamp(START + DAY_MS),
        payloads=(),
        shared_body=body,
        shared_to=tuple(p.device.id for p in fanout),
    )


async def test_erasing_a_groups_only_admin_makes_the_smallest_remaining_member_admin(store: Store) -> None:
    people = sorted([await new_person(store) for _ in range(3)], key=lambda p: p.account.id)
    admin, first, second = people[2], people[0], people[1]
    await store.create_group(GROUP, admin.account.id, [second.account.id, first.account.id], now=NOW)
    invite = InviteRecord(
        id="i_edges", token_hash="cd" * 32, conv=GROUP, created_by=admin.account.id, created_at=NOW
    )
    await store.create_invite(invite)

    erased = await store.erase_account(admin.account.id)

    assert erased is not None
    assert GROUP not in erased.conversations  # it still has members
    assert await store.group_roles(GROUP) == {first.account.id: Role.ADMIN, second.account.id: Role.MEMBER}
    assert await store.find_invite("cd" * 32) is None  # the links the person made go with them
    assert await store.list_invites(GROUP) == []


async def test_erasing_the_last_member_deletes_the_group(store: Store) -> None:
    alone = await new_person(store)
    await store.create_group(GROUP, alone.account.id, [], now=NOW)

    erased = await store.erase_account(alone.account.id)

    assert erased is not None
    assert erased.conversations == (GROUP,)
    assert await store.get_conversation(GROUP) is None
    assert await store.group_roles(GROUP) == {}


async def test_erasure_takes_the_pending_group_items_that_name_the_person(store: Store) -> None:
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    await store.create_group(GROUP, alice.account.id, [bob.account.id, carol.account.id], now=NOW)
    naming = f'{{"sender_device":"{carol.device.id}","ciphertext":"x"}}'.encode()
    [kept] = await store.append([group_body(alice, [bob], b'{"ciphertext":"y"}', client_id="kept")])
    await store.append([group_body(carol, [bob], naming, client_id="names-carol")])

    assert await store.erase_account(carol.account.id) is not None

    assert [i.message_id for i in await store.fetch(bob.device.id, after=ZERO, limit=10)] == [kept.message_id]


async def test_the_bars_of_a_person_are_exported_and_erased(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    await store.create_group(GROUP, alice.account.id, [bob.account.id], now=NOW)
    assert await store.remove_member(GROUP, bob.account.id, barred_at=Timestamp(START + 5))

    data = await store.export_account(bob.account.id)
    assert data is not None
    assert data.group_bars == ((GROUP, Timestamp(START + 5)),)
    admin = await store.export_account(alice.account.id)
    assert admin is not None
    assert admin.group_bars == ()

    await store.erase_account(bob.account.id)
    assert not await store.is_barred(GROUP, bob.account.id)


async def test_a_write_naming_someone_gone_is_not_found_and_stores_nothing(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    gone = AccountId("acc_gone")
    await store.create_group(GROUP, alice.account.id, [], now=NOW)

    with pytest.raises(NotFound):
        await store.add_members(GROUP, [bob.account.id, gone])
    with pytest.raises(NotFound):
        await store.create_group(ConversationId("g_other"), alice.account.id, [gone], now=NOW)
    with pytest.raises(NotFound):
        await store.add_contact(alice.account.id, gone, now=NOW)
    with pytest.raises(NotFound):
        await store.block(gone, alice.account.id, now=NOW)

    assert await store.group_roles(GROUP) == {alice.account.id: Role.ADMIN}
    assert await store.groups_of(alice.account.id) == [GROUP]
    assert await store.get_conversation(ConversationId("g_other")) is None
    assert await store.list_contacts(alice.account.id) == []


async def test_concurrent_sends_of_one_client_id_store_it_once(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    send = message(alice, [bob.device.id], client_id="same")

    results = await asyncio.gather(*(store.append([send]) for _ in range(8)))

    firsts = [r for [r] in results if not r.duplicate]
    assert len(firsts) == 1
    assert {r.message_id for [r] in results} == {firsts[0].message_id}
    assert len(await store.fetch(bob.device.id, after=ZERO, limit=20)) == 1
