"""The Store contract outside the mailbox: accounts, devices, credentials, keys, conversations.
Every test runs on each adapter (see conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from passerelle.domain.conversations import ConversationKind, direct_conversation_id
from passerelle.domain.errors import AliasTaken, NotFound, Unavailable
from passerelle.domain.ids import AccountId, AppName, ConversationId, DeviceId, MailboxPos, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.service.ports import Store
from passerelle.service.records import CodeRecord, OneTimeKey
from tests.contract.conftest import (
    DAY_MS,
    START,
    Backend,
    account_record,
    device_record,
    message,
    new_person,
)

# -- accounts and devices ----------------------------------------------------------------------


async def test_a_created_account_reads_back_with_its_device_and_token(store: Store) -> None:
    alice = await new_person(store, "alice")

    assert await store.get_account(alice.account.id) == alice.account
    assert await store.find_account(AppName("chat"), "alice") == alice.account
    assert await store.find_account(AppName("other"), "alice") is None
    assert await store.get_device(alice.device.id) == alice.device
    assert await store.get_device_and_account(alice.device.id) == (alice.device, alice.account)
    assert await store.get_device_and_account(DeviceId("dev_nobody")) is None
    assert await store.list_devices(alice.account.id) == [alice.device]
    token = await store.resolve_token(alice.token_hash, now=Timestamp(START))
    assert token is not None
    assert (token.device, token.account) == (alice.device.id, alice.account.id)
    assert await store.resolve_caller(alice.token_hash, now=Timestamp(START)) == (token, alice.account)


async def test_a_taken_alias_raises_alias_taken_and_stores_nothing(store: Store) -> None:
    await new_person(store, "alice")
    impostor = account_record("alice")
    device = device_record(impostor.id)

    with pytest.raises(AliasTaken):
        await store.create_account(impostor, device, token_hash="t2", token_expires=Timestamp(START + DAY_MS))

    assert await store.get_account(impostor.id) is None
    assert await store.get_device(device.id) is None
    assert await store.resolve_token("t2", now=Timestamp(START)) is None
    # The same alias in another app is another person.
    other_app = await new_person(store, "alice", app="other")
    assert await store.find_account(AppName("other"), "alice") == other_app.account


async def test_settings_update(store: Store) -> None:
    alice = await new_person(store)

    await store.update_settings(alice.account.id, findability=Findability.NOBODY, read_receipts=False)
    updated = await store.get_account(alice.account.id)
    assert updated is not None
    assert (updated.findability, updated.read_receipts) == (Findability.NOBODY, False)

    await store.update_settings(alice.account.id, findability=None, read_receipts=True)
    reset = await store.get_account(alice.account.id)
    assert reset is not None
    assert (reset.findability, reset.read_receipts) == (None, True)


async def test_devices_of_several_accounts(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    laptop = device_record(alice.account.id, name="laptop", created_at=START + 1)
    await store.add_device(laptop, token_hash="laptop-token", token_expires=Timestamp(START + DAY_MS))
    nobody = AccountId("acc_without_devices")

    assert await store.list_devices(alice.account.id) == [alice.device, laptop]
    assert await store.list_devices_of([alice.account.id, bob.account.id, nobody]) == {
        alice.account.id: [alice.device.id, laptop.id],
        bob.account.id: [bob.device.id],
        nobody: [],
    }
    assert await store.list_devices_of([]) == {}


async def test_removing_a_device_takes_its_mailbox_keys_and_tokens_only(store: Store) -> None:
    alice = await new_person(store)
    laptop = device_record(alice.account.id, name="laptop", created_at=START + 1)
    await store.add_device(laptop, token_hash="laptop-token", token_expires=Timestamp(START + DAY_MS))
    for device in (alice.device.id, laptop.id):
        await store.add_one_time_keys(device, [OneTimeKey(key_id="k1", key="K", signature="S")])
        await store.set_fallback_key(device, OneTimeKey(key_id="f1", key="F", signature="S"))
        assert await store.spend_challenge(
            f"challenge-{device}",
            device=device,
            expires_at=Timestamp(START + DAY_MS),
            token_hash=None,
            token_expires_at=Timestamp(START + DAY_MS),
        )
    await store.append([message(alice, [alice.device.id, laptop.id], client_id="m1")])

    assert await store.remove_device(laptop.id) is True
    assert await store.remove_device(laptop.id) is False

    assert await store.get_device(laptop.id) is None
    assert await store.get_device_and_account(laptop.id) is None
    assert await store.resolve_token("laptop-token", now=Timestamp(START)) is None
    assert await store.resolve_caller("laptop-token", now=Timestamp(START)) is None
    assert await store.fetch(laptop.id, after=MailboxPos(0), limit=10) == []
    assert await store.count_one_time_keys(laptop.id) == 0
    claimed = await store.claim_keys(alice.account.id)
    assert [c.device.id for c in claimed] == [alice.device.id]
    # The other device keeps everything.
    assert await store.resolve_token(alice.token_hash, now=Timestamp(START)) is not None
    assert len(await store.fetch(alice.device.id, after=MailboxPos(0), limit=10)) == 1
    assert not await store.spend_challenge(  # still remembered as spent
        f"challenge-{alice.device.id}",
        device=alice.device.id,
        expires_at=Timestamp(START + DAY_MS),
        token_hash=None,
        token_expires_at=Timestamp(START + DAY_MS),
    )


async def test_writing_for_a_removed_device_is_not_found(store: Store) -> None:
    alice = await new_person(store)
    phone = alice.device.id
    await store.remove_device(phone)
    later = Timestamp(START + DAY_MS)

    with pytest.raises(NotFound):
        await store.add_one_time_keys(phone, otks("k1"))
    with pytest.raises(NotFound):
        await store.set_fallback_key(phone, OneTimeKey(key_id="f", key="F", signature="S"))
    with pytest.raises(NotFound):
        await store.put_token("late-token", device=phone, expires_at=later)
    with pytest.raises(NotFound):
        await store.spend_challenge(
            "late-challenge", device=phone, expires_at=later, token_hash="late", token_expires_at=later
        )
    assert await store.resolve_token("late", now=Timestamp(START)) is None
    assert await store.count_one_time_keys(phone) == 0


# -- tokens, challenges, codes -----------------------------------------------------------------


async def test_tokens_expire(store: Store) -> None:
    alice = await new_person(store)
    await store.put_token("short", device=alice.device.id, expires_at=Timestamp(START + 1000))

    assert await store.resolve_token("short", now=Timestamp(START + 999)) is not None
    assert await store.resolve_token("short", now=Timestamp(START + 1000)) is None
    assert await store.resolve_token("never-issued", now=Timestamp(START)) is None
    assert await store.resolve_caller("short", now=Timestamp(START + 999)) is not None
    assert await store.resolve_caller("short", now=Timestamp(START + 1000)) is None
    assert await store.resolve_caller("never-issued", now=Timestamp(START)) is None


async def test_a_challenge_is_spent_once_with_the_token_it_buys(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    expires, token_expires = Timestamp(START + 60_000), Timestamp(START + DAY_MS)

    def spend(challenge: str, device: DeviceId, token: str | None) -> Awaitable[bool]:
        return store.spend_challenge(
            challenge, device=device, expires_at=expires, token_hash=token, token_expires_at=token_expires
        )

    assert await spend("c1", alice.device.id, "t1")
    owner = await store.resolve_token("t1", now=Timestamp(START))
    assert owner is not None and owner.device == alice.device.id and owner.expires_at == token_expires
    # Spent: a second spend, by anyone, stores nothing.
    assert not await spend("c1", alice.device.id, "t2")
    assert not await spend("c1", bob.device.id, "t3")
    assert await store.resolve_token("t2", now=Timestamp(START)) is None
    assert await store.resolve_token("t3", now=Timestamp(START)) is None
    # Spent without a token (a bad signature): nothing to resolve, and spent all the same.
    assert await spend("c2", alice.device.id, None)
    assert not await spend("c2", alice.device.id, "t4")
    assert await store.resolve_token("t4", now=Timestamp(START)) is None


async def test_codes_are_replaced_spent_and_deleted(store: Store) -> None:
    app, phone = AppName("chat"), "+33612345678"
    first = CodeRecord(
        app=app, phone=phone, code_hash="h1", expires_at=Timestamp(START + 600_000), attempts_left=2
    )
    second = CodeRecord(
        app=app, phone=phone, code_hash="h2", expires_at=Timestamp(START + 900_000), attempts_left=3
    )

    assert await store.get_code(app, phone) is None
    assert await store.spend_attempt(app, phone) == -1
    await store.put_code(first)
    assert await store.get_code(app, phone) == first
    await store.put_code(second)
    assert await store.get_code(app, phone) == second
    assert [await store.spend_attempt(app, phone) for _ in range(4)] == [2, 1, 0, 0]
    assert await store.get_code(AppName("other"), phone) is None
    await store.delete_code(app, phone)
    assert await store.get_code(app, phone) is None
    assert await store.spend_attempt(app, phone) == -1


# -- keys --------------------------------------------------------------------------------------


def otks(*ids: str) -> list[OneTimeKey]:
    return [OneTimeKey(key_id=i, key=f"key-{i}", signature=f"sig-{i}") for i in ids]


async def test_one_time_keys_ignore_known_ids_and_count(store: Store) -> None:
    alice = await new_person(store)

    assert await store.add_one_time_keys(alice.device.id, otks("a", "b")) == 2
    assert await store.add_one_time_keys(alice.device.id, otks("b", "c")) == 3
    assert await store.add_one_time_keys(alice.device.id, []) == 3
    assert await store.count_one_time_keys(alice.device.id) == 3


async def test_each_one_time_key_is_claimed_once_under_concurrent_claims(store: Store) -> None:
    bob = await new_person(store)
    keys = otks(*(f"k{i:02d}" for i in range(20)))
    await store.add_one_time_keys(bob.device.id, keys)
    fallback = OneTimeKey(key_id="fb", key="fallback", signature="sig-fb", fallback=True)
    await store.set_fallback_key(bob.device.id, OneTimeKey(key_id="fb", key="fallback", signature="sig-fb"))

    claims = await asyncio.gather(*(store.claim_keys(bob.account.id) for _ in range(50)))

    handed = [claim[0].one_time_key for claim in claims]
    one_time = sorted(k.key_id for k in handed if k is not None and not k.fallback)
    assert one_time == [k.key_id for k in keys]
    assert [k for k in handed if k is None or k.fallback] == [fallback] * 30
    assert all(claim[0].device == bob.device for claim in claims)
    assert await store.count_one_time_keys(bob.device.id) == 0


async def test_a_claim_covers_every_device_and_may_find_no_key(store: Store) -> None:
    bob = await new_person(store)
    tablet = device_record(bob.account.id, name="tablet", created_at=START + 1)
    await store.add_device(tablet, token_hash="tablet-token", token_expires=Timestamp(START + DAY_MS))
    await store.add_one_time_keys(tablet.id, otks("t1"))

    claimed = await store.claim_keys(bob.account.id)

    assert [(c.device, c.one_time_key) for c in claimed] == [
        (bob.device, None),
        (tablet, OneTimeKey(key_id="t1", key="key-t1", signature="sig-t1")),
    ]
    assert await store.claim_keys(AccountId("acc_unknown")) == []


async def test_a_claim_can_name_its_devices_and_never_takes_the_callers_key(store: Store) -> None:
    bob = await new_person(store)
    tablet = device_record(bob.account.id, name="tablet", created_at=START + 1)
    await store.add_device(tablet, token_hash="tablet-token", token_expires=Timestamp(START + DAY_MS))
    await store.add_one_time_keys(bob.device.id, otks("p1"))
    await store.add_one_time_keys(tablet.id, otks("t1"))

    only_tablet = await store.claim_keys(bob.account.id, only=[tablet.id])
    assert [(c.device.id, c.one_time_key is not None) for c in only_tablet] == [
        (bob.device.id, False),
        (tablet.id, True),
    ]
    from_the_phone = await store.claim_keys(bob.account.id, exclude=bob.device.id)
    assert [c.one_time_key for c in from_the_phone] == [None, None]
    assert await store.count_one_time_keys(bob.device.id) == 1


async def test_a_new_fallback_key_replaces_the_old_one(store: Store) -> None:
    bob = await new_person(store)
    await store.set_fallback_key(bob.device.id, OneTimeKey(key_id="f1", key="F1", signature="S1"))
    await store.set_fallback_key(bob.device.id, OneTimeKey(key_id="f2", key="F2", signature="S2"))

    claimed = await store.claim_keys(bob.account.id)

    assert claimed[0].one_time_key == OneTimeKey(key_id="f2", key="F2", signature="S2", fallback=True)


# -- conversations -----------------------------------------------------------------------------


async def test_direct_conversations_are_idempotent_listed_and_timed(store: Store) -> None:
    alice = await new_person(store)
    bob = await new_person(store)
    carol = await new_person(store)
    a, b, c = alice.account.id, bob.account.id, carol.account.id
    ab = direct_conversation_id(a, b)

    first = await store.ensure_direct(ab, a, b, now=Timestamp(START))
    again = await store.ensure_direct(ab, b, a, now=Timestamp(START + 5))

    assert first == again
    assert first.id == ab
    assert first.kind is ConversationKind.DIRECT
    assert sorted(first.members) == sorted([a, b])
    assert (first.timer_s, first.created_at) == (0, START)
    ac = await store.ensure_direct(direct_conversation_id(a, c), a, c, now=Timestamp(START + 1))
    assert [conv.id for conv in await store.list_conversations(a)] == [ab, ac.id]
    assert [conv.id for conv in await store.list_conversations(b)] == [ab]
    assert await store.shares_conversation(a, b)
    assert await store.shares_conversation(c, a)
    assert not await store.shares_conversation(b, c)

    await store.set_timer(ab, 86_400)
    timed = await store.get_conversation(ab)
    assert timed is not None
    assert timed.timer_s == 86_400
    assert await store.get_conversation(ConversationId("d_unknown")) is None


# -- life cycle --------------------------------------------------------------------------------


async def test_ping_answers_while_open_and_a_closed_store_is_unavailable(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    assert await store.ping()
    await store.close()

    assert not await store.ping()
    with pytest.raises(Unavailable):
        await store.get_device(DeviceId("dev_any"))
