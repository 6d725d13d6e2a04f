"""The LinkStore contract (docs/business.md section 3.1), on every adapter: a link request taken
once and not after it expires, groups joined up to the cap, shares only for a real business and
moved with a merged group, unlinking and erasure dissolving a group left alone."""

from __future__ import annotations

import pytest

from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.links.ports import LinkStore
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for, link_store_for
from tests.contract.conftest import START
from tests.contract.test_store_business import business

A, B, C, D = (AccountId(f"acc_{n}") for n in "abcd")


@pytest.fixture
def links(store: Store) -> LinkStore:
    return link_store_for(store)


async def test_requests_links_shares_and_erasure(store: Store, links: LinkStore) -> None:
    biz: BusinessStore = business_store_for(store)
    shop = business("velo")
    assert await biz.create_business(shop)

    # A request is taken once, and never after it expires; a new one replaces the old.
    await links.put_link_request(A, "h1", Timestamp(START + 100))
    await links.put_link_request(A, "h2", Timestamp(START + 100))
    assert await links.take_link_request("h1", Timestamp(START)) is None
    assert await links.take_link_request("h2", Timestamp(START)) == A
    assert await links.take_link_request("h2", Timestamp(START)) is None
    await links.put_link_request(B, "h3", Timestamp(START + 100))
    assert await links.take_link_request("h3", Timestamp(START + 100)) is None

    # Groups: oldest link first, bounded, merged.
    assert await links.link_group(A) is None
    ab = await links.link_accounts(A, B, "lk_1", Timestamp(START), cap=3)
    assert ab is not None and ab.person == "lk_1" and set(ab.accounts) == {A, B}
    assert await links.link_accounts(B, A, "lk_x", Timestamp(START + 1), cap=3) == ab
    assert await links.set_share("lk_1", shop.id, True, Timestamp(START))
    assert not await links.set_share("lk_1", type(shop.id)("bz_nobody"), True, Timestamp(START))
    cd = await links.link_accounts(C, D, "lk_2", Timestamp(START + 2), cap=3)
    assert cd is not None
    assert await links.link_accounts(A, C, "lk_3", Timestamp(START + 3), cap=3) is None  # 4 > 3
    abc = await links.link_accounts(C, A, "lk_3", Timestamp(START + 3), cap=4)
    assert abc is not None and set(abc.accounts) == {A, B, C, D}
    assert await links.shares_of(abc.person) == [shop.id]  # the share moved with the merge
    assert await links.link_group(D) == abc

    # Unlinking takes one account out; a group left with one is dissolved with its shares.
    assert await links.unlink_account(D)
    assert not await links.unlink_account(D)
    assert await links.unlink_account(C)
    left = await links.link_group(A)
    assert left is not None and set(left.accounts) == {A, B}
    assert await links.set_share(left.person, shop.id, False, Timestamp(START))
    assert await links.shares_of(left.person) == []
    assert await links.set_share(left.person, shop.id, True, Timestamp(START))
    await links.put_link_request(B, "h4", Timestamp(START + 100))
    await links.forget_links_of(B)
    assert await links.take_link_request("h4", Timestamp(START)) is None
    assert await links.link_group(A) is None
    assert await links.shares_of(left.person) == []
