"""The PrivacyStore contract: contacts, blocks, member states, settings, reports, export and erasure.
Every test runs on each adapter (see conftest.py)."""

from __future__ import annotations

from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, MailboxPos, MessageId, Timestamp
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom, PairFacts
from passerelle.service.ports import Store
from passerelle.service.privacy.records import PrivacySettings, ReportedMessage, ReportRecord
from passerelle.service.records import OneTimeKey
from tests.contract.conftest import START, message, new_person

NOW = Timestamp(START)


def report(reporter: AccountId, reported: AccountId, rid: str, at: int, text: str = "insult") -> ReportRecord:
    return ReportRecord(
        id=rid,
        reporter=reporter,
        reported=reported,
        conv=None,
        reason="abuse",
        created_at=Timestamp(at),
        messages=(
            ReportedMessage(
                mid=MessageId(7), client_id="c1", sender=reported, ts=Timestamp(at - 5), text=text
            ),
        ),
    )


async def test_contacts_and_blocks_are_per_owner_and_idempotent(store: Store) -> None:
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    a, b, c = alice.account.id, bob.account.id, carol.account.id
    await store.add_contact(a, b, now=NOW)
    await store.add_contact(a, b, now=Timestamp(START + 5))
    await store.add_contact(a, c, now=Timestamp(START + 1))
    assert [(r.account, r.since) for r in await store.list_contacts(a)] == [(b, NOW), (c, START + 1)]
    assert await store.list_contacts(b) == []
    assert await store.remove_contact(a, c)
    assert not await store.remove_contact(a, c)

    await store.block(b, a, now=NOW)
    assert [r.account for r in await store.list_blocks(b)] == [a]
    facts = await store.pair_facts(a, b)
    assert facts.blocked(b, a) and not facts.blocked(a, b)
    assert facts.is_contact(a, b) and not facts.is_contact(b, a)
    assert await store.pair_facts(b, a) == facts
    assert await store.unblock(b, a)
    assert not await store.unblock(b, a)
    assert (await store.pair_facts(a, b)).blocks == frozenset()
    assert await store.pair_facts(a, c) == PairFacts()


async def test_member_states_decide_once_accept_and_decline(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    a, b = alice.account.id, bob.account.id
    conv = direct_conversation_id(a, b)
    await store.ensure_direct(conv, a, b, now=NOW)
    assert await store.decide_state(conv, b, MemberState.REQUEST, now=NOW) is MemberState.REQUEST
    assert await store.decide_state(conv, b, MemberState.ACCEPTED, now=NOW) is MemberState.REQUEST
    assert await store.decide_state(conv, a, MemberState.ACCEPTED, now=NOW) is MemberState.ACCEPTED
    [request] = await store.list_requests(b, MemberState.REQUEST)
    assert (request.conv, request.sender, request.state) == (conv, a, MemberState.REQUEST)
    assert await store.list_requests(a, MemberState.REQUEST) == []
    assert (await store.pair_facts(a, b)).states == {a: MemberState.ACCEPTED, b: MemberState.REQUEST}

    await store.accept_conversation(conv, b, a, now=Timestamp(START + 1))
    facts = await store.pair_facts(a, b)
    assert facts.state(b) is MemberState.ACCEPTED and facts.is_contact(b, a)
    assert await store.list_requests(b, MemberState.REQUEST) == []

    # Declining (and blocking) deletes what waits for the decliner from the other in that conversation.
    await store.append([message(alice, [bob.device.id], client_id="m1", conv=conv)])
    await store.append([message(alice, [bob.device.id], client_id="m2", conv="d_other")])
    deleted = await store.decline_conversation(conv, b, a, block=True, now=Timestamp(START + 2))
    assert deleted == 1
    left = await store.fetch(bob.device.id, after=MailboxPos(0), limit=10)
    assert [i.conv for i in left] == ["d_other"]
    facts = await store.pair_facts(a, b)
    assert facts.state(b) is MemberState.DECLINED and facts.blocked(b, a)
    assert [r.sender for r in await store.list_requests(b, MemberState.DECLINED)] == [a]


async def test_privacy_settings_default_change_and_last_seen(store: Store) -> None:
    alice = await new_person(store)
    a = alice.account.id
    assert await store.get_privacy(a) == PrivacySettings()
    await store.record_last_seen([(a, Timestamp(START + 9)), (AccountId("acc_gone"), NOW)])
    await store.set_privacy(a, message_from=MessageFrom.CONTACTS, last_seen=LastSeenVisibility.NOBODY)
    assert await store.get_privacy(a) == PrivacySettings(
        message_from=MessageFrom.CONTACTS,
        last_seen=LastSeenVisibility.NOBODY,
        last_seen_at=Timestamp(START + 9),
    )
    assert await store.get_privacy(AccountId("acc_gone")) == PrivacySettings()
    bob = await new_person(store)
    assert (await store.pair_facts(a, bob.account.id)).message_from == {a: MessageFrom.CONTACTS}


async def test_reports_keep_the_revealed_messages_newest_first(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    a, b = alice.account.id, bob.account.id
    await store.add_report(report(a, b, "rep_1", START + 10, "première insulte ✋"))
    await store.add_report(report(b, a, "rep_2", START + 20))
    listed = await store.list_reports(limit=10)
    assert [r.id for r in listed] == ["rep_2", "rep_1"]
    assert listed[1] == report(a, b, "rep_1", START + 10, "première insulte ✋")
    assert [r.id for r in await store.list_reports(limit=10, before=Timestamp(START + 20))] == ["rep_1"]
    assert [r.id for r in await store.list_reports(limit=1)] == ["rep_2"]


async def test_export_holds_the_persons_data_only(store: Store) -> None:
    alice, bob, carol = [await new_person(store) for _ in range(3)]
    a, b, c = alice.account.id, bob.account.id, carol.account.id
    conv = direct_conversation_id(a, b)
    await store.ensure_direct(conv, a, b, now=NOW)
    await store.decide_state(conv, a, MemberState.REQUEST, now=NOW)
    await store.add_contact(a, b, now=NOW)
    await store.add_contact(b, c, now=NOW)
    await store.block(a, c, now=NOW)
    await store.block(b, a, now=NOW)
    await store.add_one_time_keys(alice.device.id, [OneTimeKey(key_id="k1", key="K" * 43, signature="s")])
    await store.append([message(bob, [alice.device.id], client_id="to-alice", conv=conv)])
    await store.append([message(alice, [bob.device.id], client_id="from-alice", conv=conv)])
    await store.add_report(report(a, c, "rep_a", START + 1))
    await store.add_report(report(b, a, "rep_b", START + 2))

    data = await store.export_account(a)
    assert data is not None
    assert data.account == alice.account
    assert [d.device for d in data.devices] == [alice.device]
    assert data.devices[0].one_time_keys == (("k1", "K" * 43),)
    assert len(data.devices[0].token_expiries) == 1
    assert [r.account for r in data.contacts] == [b]
    assert [r.account for r in data.blocks] == [c]  # not bob's block of alice: that is bob's
    [(conversation, state)] = data.conversations
    assert (conversation.id, state) == (conv, MemberState.REQUEST)
    assert [(m.device, m.sender) for m in data.mailbox] == [(alice.device.id, b)]
    assert [s.client_id for s in data.sent] == ["from-alice"]
    assert [r.id for r in data.reports] == ["rep_a"]  # not the report about her
    assert await store.export_account(AccountId("acc_gone")) is None


async def test_erasure_removes_the_account_everywhere_and_frees_its_alias(store: Store) -> None:
    alice, bob = await new_person(store, "alice"), await new_person(store)
    a, b = alice.account.id, bob.account.id
    conv = direct_conversation_id(a, b)
    await store.ensure_direct(conv, a, b, now=NOW)
    await store.decide_state(conv, b, MemberState.REQUEST, now=NOW)
    await store.add_contact(b, a, now=NOW)
    await store.block(a, b, now=NOW)
    await store.append([message(alice, [bob.device.id], client_id="m1", conv=conv)])
    await store.append([message(bob, [alice.device.id], client_id="m2", conv=conv)])
    await store.add_report(report(b, a, "rep_1", START))
    await store.record_last_seen([(a, NOW)])

    erased = await store.erase_account(a)
    assert erased is not None
    assert erased.devices == (alice.device.id,)
    assert conv in erased.conversations
    assert await store.get_account(a) is None
    assert await store.find_account(alice.account.app, "alice") is None
    assert await store.get_device(alice.device.id) is None
    assert await store.resolve_token(alice.token_hash, now=NOW) is None
    assert await store.get_conversation(conv) is None
    assert await store.list_conversations(b) == []
    assert await store.list_contacts(b) == []
    assert await store.pair_facts(a, b) == PairFacts()
    assert await store.fetch(bob.device.id, after=MailboxPos(0), limit=10) == []
    assert await store.list_reports(limit=10) == []
    assert await store.erase_account(a) is None
    again = await new_person(store, "alice")  # the alias is free
    assert await store.find_account(again.account.app, "alice") == again.account
