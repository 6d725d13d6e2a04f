"""The HandOffStore contract (docs/bots.md, "Hand-off"), on every adapter: one active hand-off per
person and business (asking again answers it), the cap of active ones, the moves each status
allows (take, take again by another agent, hand back, resolve; nothing after a final one), the
active list oldest first, erasure of a person, and retention of finished ones."""

from __future__ import annotations

import pytest

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.handoff_ports import HandOffRecord, HandOffStatus, HandOffStore
from passerelle.service.business.ports import BusinessStore
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for, handoff_store_for
from tests.contract.conftest import START
from tests.contract.test_store_business import business


@pytest.fixture
def handoffs(store: Store) -> HandOffStore:
    return handoff_store_for(store)


@pytest.fixture
def biz(store: Store) -> BusinessStore:
    return business_store_for(store)


def handoff(owner: BusinessId, ident: str, account: str, at: int = START) -> HandOffRecord:
    return HandOffRecord(
        id=ident,
        business=owner,
        number="1001",
        account=AccountId(account),
        user_id="ZZ." + "1" * 19,
        summary="wants a refund for order 42",
        reason="requested",
        status=HandOffStatus.OPEN,
        agent="",
        created_at=Timestamp(at),
        updated_at=Timestamp(at),
    )


async def test_one_active_hand_off_per_person_and_its_moves(
    biz: BusinessStore, handoffs: HandOffStore
) -> None:
    record = business("velo")
    assert await biz.create_business(record)
    shop = record.id
    first = handoff(shop, "ho_1", "acc_alice")
    assert await handoffs.open_handoff(first, cap=10) == (first, True)
    again = await handoffs.open_handoff(handoff(shop, "ho_2", "acc_alice"), cap=10)
    assert again == (first, False)  # the active one, nothing new
    assert await handoffs.get_handoff(shop, "ho_2") is None
    assert await handoffs.open_handoff(handoff(BusinessId("bz_nobody"), "ho_3", "acc_alice"), cap=10) is None

    # Moves: hand back before anyone took it is allowed; a final one moves no more.
    taken = await handoffs.move_handoff(
        shop, "ho_1", HandOffStatus.TAKEN, agent="Léa", at=Timestamp(START + 5)
    )
    assert taken is not None and taken.status is HandOffStatus.TAKEN and taken.agent == "Léa"
    other = await handoffs.move_handoff(
        shop, "ho_1", HandOffStatus.TAKEN, agent="Tom", at=Timestamp(START + 6)
    )
    assert other is not None and other.agent == "Tom"
    back = await handoffs.move_handoff(
        shop, "ho_1", HandOffStatus.HANDED_BACK, agent="", at=Timestamp(START + 7)
    )
    assert back is not None and back.status is HandOffStatus.HANDED_BACK and back.agent == "Tom"
    assert (
        await handoffs.move_handoff(shop, "ho_1", HandOffStatus.RESOLVED, agent="", at=Timestamp(START + 8))
        is None
    )
    assert (
        await handoffs.move_handoff(shop, "ho_1", HandOffStatus.TAKEN, agent="X", at=Timestamp(START + 8))
        is None
    )
    assert await handoffs.get_handoff(shop, "ho_1") == back
    assert await handoffs.get_handoff(BusinessId("bz_other"), "ho_1") is None

    # Once it ended, the person may be handed off again.
    later = handoff(shop, "ho_4", "acc_alice", START + 10)
    assert await handoffs.open_handoff(later, cap=10) == (later, True)
    bob = handoff(shop, "ho_5", "acc_bob", START + 11)
    assert await handoffs.open_handoff(bob, cap=10) == (bob, True)
    assert [h.id for h in await handoffs.active_handoffs(shop, limit=10)] == ["ho_4", "ho_5"]
    assert [h.id for h in await handoffs.active_handoffs(shop, limit=1)] == ["ho_4"]
    # The cap of active hand-offs per business.
    assert await handoffs.open_handoff(handoff(shop, "ho_6", "acc_carol"), cap=2) is None
    resolved = await handoffs.move_handoff(
        shop, "ho_5", HandOffStatus.RESOLVED, agent="", at=Timestamp(START + 12)
    )
    assert resolved is not None and not resolved.active

    # Retention forgets finished ones only; erasure forgets all of a person's.
    assert await handoffs.forget_handoffs_before(Timestamp(START + 100)) == 2  # ho_1 and ho_5
    assert await handoffs.get_handoff(shop, "ho_4") is not None
    await handoffs.forget_handoffs_of(AccountId("acc_alice"))
    assert await handoffs.active_handoffs(shop, limit=10) == []
