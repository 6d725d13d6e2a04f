"""The EndpointStore contract (docs/business.md section 4), on every adapter: enrolment tokens are
taken once and only before they expire, only for a business that exists; a business has one
endpoint, found by business and by account, replaced by a later one; the statement is set only by
the current endpoint device."""

from __future__ import annotations

import dataclasses

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import DeviceId, Timestamp
from passerelle.service.business.endpoint_ports import EndpointMode, EndpointRecord, EnrolmentRecord
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for, endpoint_store_for
from tests.contract.conftest import START, new_person
from tests.contract.test_store_business import business


async def test_enrolments_are_taken_once_before_they_expire(store: Store) -> None:
    shop = business("velo")
    assert await business_store_for(store).create_business(shop)
    endpoints = endpoint_store_for(store)
    enrolment = EnrolmentRecord(
        business=shop.id,
        mode=EndpointMode.SELF_RUN,
        created_at=Timestamp(START),
        expires_at=Timestamp(START + 1000),
    )
    assert await endpoints.add_enrolment(enrolment, token_hash="h1")
    assert await endpoints.add_enrolment(
        dataclasses.replace(enrolment, mode=EndpointMode.HOSTED), token_hash="h2"
    )
    assert not await endpoints.add_enrolment(
        dataclasses.replace(enrolment, business=BusinessId("bz_nobody")), token_hash="h3"
    )
    assert await endpoints.take_enrolment("h1", now=Timestamp(START)) == enrolment
    assert await endpoints.take_enrolment("h1", now=Timestamp(START)) is None
    assert await endpoints.take_enrolment("h3", now=Timestamp(START)) is None
    assert await endpoints.take_enrolment("h2", now=Timestamp(START + 1001)) is None


async def test_one_endpoint_per_business_and_its_statement(store: Store) -> None:
    shop = business("velo")
    assert await business_store_for(store).create_business(shop)
    endpoints = endpoint_store_for(store)
    owner = await new_person(store, "velo", app="biz")
    record = EndpointRecord(
        business=shop.id,
        account=owner.account.id,
        device=owner.device.id,
        mode=EndpointMode.HOSTED,
        statement="",
        signature="",
        enrolled_at=Timestamp(START),
    )
    assert await endpoints.endpoint_of(shop.id) is None
    await endpoints.set_endpoint(record)
    assert await endpoints.endpoint_of(shop.id) == record
    assert await endpoints.endpoint_by_account(owner.account.id) == record
    assert await endpoints.endpoint_by_account(owner.device.account) == record
    assert not await endpoints.set_statement(shop.id, DeviceId("dev_other"), statement="{}", signature="s")
    assert await endpoints.set_statement(shop.id, owner.device.id, statement='{"a":1}', signature="sig")
    got = await endpoints.endpoint_of(shop.id)
    assert got is not None and got.statement == '{"a":1}' and got.signature == "sig"
    replaced = dataclasses.replace(record, device=DeviceId("dev_new"), mode=EndpointMode.SELF_RUN)
    await endpoints.set_endpoint(replaced)
    assert await endpoints.endpoint_of(shop.id) == replaced
    assert await endpoints.endpoints() == [replaced]
