"""The BusinessStore's message templates (docs/business.md section 6), on every adapter: unique by
name and language per business account, bounded per account, listed in (name, language) order with
a cursor, deleted by name or by id and name, and changed only from the status the caller saw."""

from __future__ import annotations

import dataclasses
import json
import secrets

import pytest

from passerelle.domain.business.consent import Category
from passerelle.domain.business.ids import TemplateId, WabaId
from passerelle.domain.business.quality import Quality, TemplateStatus
from passerelle.domain.ids import Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import TemplateAdded, TemplateRecord
from passerelle.service.ports import Store
from passerelle.storage.business import business_store_for
from tests.contract.conftest import START
from tests.contract.test_store_business import digits, with_number

COMPONENTS = json.dumps([{"type": "BODY", "text": "Hello {{1}}, order {{2}} is ready"}])


@pytest.fixture
def biz(store: Store) -> BusinessStore:
    return business_store_for(store)


def template(
    waba: WabaId, name: str, language: str = "en_US", *, category: Category = Category.UTILITY
) -> TemplateRecord:
    return TemplateRecord(
        id=TemplateId(digits()),
        waba=waba,
        name=name,
        language=language,
        category=category,
        parameter_format="POSITIONAL",
        components=COMPONENTS,
        status=TemplateStatus.PENDING,
        quality=Quality.UNKNOWN,
        created_at=Timestamp(START),
        updated_at=Timestamp(START),
    )


async def a_waba(biz: BusinessStore) -> WabaId:
    _, number = await with_number(biz, display=str(33100000000 + secrets.randbelow(10**8)))
    return number.waba


async def test_a_template_reads_back_by_name_and_language_and_by_id(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    made = template(waba, "order_ready", category=Category.MARKETING)
    assert await biz.add_template(made, cap=250) is TemplateAdded.ADDED
    assert await biz.get_template(waba, "order_ready", "en_US") == made
    assert await biz.template_by_id(made.id) == made
    assert await biz.get_template(waba, "order_ready", "fr") is None
    assert await biz.template_by_id(TemplateId(digits())) is None
    assert json.loads(made.components)[0]["text"].startswith("Hello")


async def test_name_and_language_are_unique_per_business_account(biz: BusinessStore) -> None:
    waba, other = await a_waba(biz), await a_waba(biz)
    assert await biz.add_template(template(waba, "welcome"), cap=250) is TemplateAdded.ADDED
    assert await biz.add_template(template(waba, "welcome"), cap=250) is TemplateAdded.TAKEN
    assert await biz.add_template(template(waba, "welcome", "fr"), cap=250) is TemplateAdded.ADDED
    assert await biz.add_template(template(other, "welcome"), cap=250) is TemplateAdded.ADDED
    assert await biz.count_templates(waba) == 2
    assert await biz.count_templates(other) == 1


async def test_a_business_account_holds_at_most_the_cap(biz: BusinessStore) -> None:
    waba, other = await a_waba(biz), await a_waba(biz)
    for n in range(3):
        assert await biz.add_template(template(waba, f"t{n}"), cap=3) is TemplateAdded.ADDED
    assert await biz.add_template(template(waba, "t3"), cap=3) is TemplateAdded.FULL
    assert await biz.count_templates(waba) == 3
    assert await biz.add_template(template(other, "t3"), cap=3) is TemplateAdded.ADDED
    await biz.delete_templates(waba, "t0")
    assert await biz.add_template(template(waba, "t3"), cap=3) is TemplateAdded.ADDED


async def test_listing_pages_in_name_and_language_order(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    for name, language in [("b", "fr"), ("a", "en_US"), ("b", "en_US"), ("c", "de"), ("a", "fr")]:
        await biz.add_template(template(waba, name, language), cap=250)
    first = await biz.list_templates(waba, limit=2)
    assert [(t.name, t.language) for t in first] == [("a", "en_US"), ("a", "fr")]
    second = await biz.list_templates(waba, limit=2, after=("a", "fr"))
    assert [(t.name, t.language) for t in second] == [("b", "en_US"), ("b", "fr")]
    third = await biz.list_templates(waba, limit=2, after=("b", "fr"))
    assert [(t.name, t.language) for t in third] == [("c", "de")]
    assert await biz.list_templates(waba, limit=2, after=("c", "de")) == []
    named = await biz.list_templates(waba, limit=10, name="b")
    assert [t.language for t in named] == ["en_US", "fr"]
    assert await biz.list_templates(await a_waba(biz), limit=10) == []


async def test_listing_filters_by_status(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    pending, approved = template(waba, "p"), template(waba, "q")
    for t in (pending, approved):
        await biz.add_template(t, cap=250)
    ok = dataclasses.replace(approved, status=TemplateStatus.APPROVED)
    assert await biz.change_template(ok, expected=TemplateStatus.PENDING)
    found = await biz.list_templates(waba, limit=10, status=TemplateStatus.APPROVED)
    assert [t.name for t in found] == ["q"]


async def test_delete_by_name_takes_every_language_or_one_by_id(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    en, fr, de = (template(waba, "promo", lang) for lang in ("en_US", "fr", "de"))
    for t in (en, fr, de):
        await biz.add_template(t, cap=250)
    await biz.add_template(template(waba, "other"), cap=250)
    gone = await biz.delete_templates(waba, "promo", template=fr.id)
    assert [t.id for t in gone] == [fr.id]
    assert await biz.delete_templates(waba, "other", template=en.id) == []  # the id is not that name's
    gone = await biz.delete_templates(waba, "promo")
    assert sorted(t.id for t in gone) == sorted([en.id, de.id])
    assert await biz.get_template(waba, "promo", "en_US") is None
    assert await biz.get_template(waba, "other", "en_US") is not None
    assert await biz.delete_templates(waba, "promo") == []


async def test_a_change_applies_only_from_the_status_seen(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    made = template(waba, "sale", category=Category.MARKETING)
    await biz.add_template(made, cap=250)
    paused = dataclasses.replace(
        made,
        status=TemplateStatus.PAUSED,
        quality=Quality.RED,
        pauses=1,
        paused_until=Timestamp(START + 3_600_000),
        updated_at=Timestamp(START + 5),
    )
    assert not await biz.change_template(paused, expected=TemplateStatus.APPROVED)
    assert await biz.change_template(paused, expected=TemplateStatus.PENDING)
    assert await biz.template_by_id(made.id) == paused
    rejected = dataclasses.replace(made, status=TemplateStatus.REJECTED, rejected_reason="SCAM")
    assert not await biz.change_template(rejected, expected=TemplateStatus.PENDING)
    await biz.delete_templates(waba, "sale")
    assert not await biz.change_template(rejected, expected=TemplateStatus.PAUSED)


async def test_the_evaluation_walks_live_templates_by_id(biz: BusinessStore) -> None:
    waba = await a_waba(biz)
    made = [template(waba, f"t{n}") for n in range(4)]
    for t in made:
        await biz.add_template(t, cap=250)
    live = sorted(made[:3], key=lambda t: t.id)
    for t in live:
        await biz.change_template(dataclasses.replace(t, status=TemplateStatus.APPROVED), expected=t.status)
    seen: list[TemplateId] = []
    after: TemplateId | None = None
    while page := await biz.templates_to_evaluate(after=after, limit=2):
        seen.extend(t.id for t in page if t.waba == waba)
        after = page[-1].id
    assert seen == [t.id for t in live]


def test_a_pause_that_ran_out_reads_as_approved() -> None:
    paused = dataclasses.replace(
        template(WabaId(digits()), "x"), status=TemplateStatus.PAUSED, paused_until=Timestamp(START + 10)
    )
    assert paused.status_at(Timestamp(START + 9)) is TemplateStatus.PAUSED
    assert paused.status_at(Timestamp(START + 10)) is TemplateStatus.APPROVED
