"""Message templates through the real server (docs/business.md section 6): a bot creates, lists
(with fields and cursors), reads and deletes its templates with the Cloud API's bodies and answers;
the operator approves or rejects them (admin API and CLI); every status change reaches the bot as a
signed ``message_template_status_update`` webhook; the auto-approval rule for development."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pywa_async import filters as pywa_filters
from pywa_async.handlers import RawUpdateHandler, TemplateQualityUpdateHandler
from pywa_async.types import TemplateQualityUpdate
from typer.testing import CliRunner

from passerelle.cli.main import app as cli_app
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, TemplateId, WabaId
from passerelle.domain.business.quality import SignalKind
from passerelle.domain.ids import AccountId
from passerelle.service.business.records import TemplateReach
from passerelle.storage.business import business_store_for
from tests.conftest import ServerHandle
from tests.integration.pywa_bot import PywaBot
from tests.integration.test_business import ADMIN, AUTH
from tests.integration.test_graph_api import bearer, business_with_number, graph_error
from tests.integration.webhook_receiver import Receiver

SECRET = "app-secret-0123456789abcdef"
pytestmark = pytest.mark.settings(admin_token=ADMIN, webhook_backoff_base_s=0.02, webhook_timeout_s=2.0)

ORDER_UPDATE: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hello {{1}}, your order {{2}} is ready.",
            "example": {"body_text": [["Alice", "12345"]]},
        },
        {"type": "FOOTER", "text": "Vélo Paris"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
    ],
}


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def shop_of(
    http: httpx.AsyncClient, slug: str = "velo-paris", display: str = "+33123456789"
) -> dict[str, Any]:
    shop = await business_with_number(http, slug, display)
    number = await http.get(f"/v1/admin/businesses/{shop['business_id']}", headers=AUTH)
    shop["waba_id"] = number.json()["accounts"][0]["waba_id"]
    return shop


async def create(http: httpx.AsyncClient, shop: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return await http.post(
        f"/v22.0/{shop['waba_id']}/message_templates", json=body, headers=bearer(shop["token"])
    )


async def test_a_bot_creates_lists_reads_and_deletes_templates(http: httpx.AsyncClient) -> None:
    shop = await shop_of(http)
    made = await create(http, shop, ORDER_UPDATE)
    assert made.status_code == 200, made.text
    answer = made.json()
    assert set(answer) == {"id", "status", "category"}
    assert answer["status"] == "PENDING" and answer["category"] == "UTILITY" and answer["id"].isdigit()
    french = await create(http, shop, {**ORDER_UPDATE, "language": "fr"})
    assert french.status_code == 200
    await create(http, shop, {**ORDER_UPDATE, "name": "another"})

    listed = await http.get(f"/{shop['waba_id']}/message_templates", headers=bearer(shop["token"]))
    assert listed.status_code == 200
    data = listed.json()["data"]
    assert [(t["name"], t["language"]) for t in data] == [
        ("another", "en_US"),
        ("order_update", "en_US"),
        ("order_update", "fr"),
    ]
    first = data[1]
    assert first == {
        "id": answer["id"],
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "status": "PENDING",
        "parameter_format": "POSITIONAL",
        "components": ORDER_UPDATE["components"],
        "quality_score": {"score": "UNKNOWN", "date": first["quality_score"]["date"]},
        "rejected_reason": "NONE",
    }
    # the same by id, and only the fields asked for
    one = await http.get(f"/v22.0/{answer['id']}", headers=bearer(shop["token"]))
    assert one.json() == first
    some = await http.get(f"/{answer['id']}", params={"fields": "name,status"}, headers=bearer(shop["token"]))
    assert some.json() == {"id": answer["id"], "name": "order_update", "status": "PENDING"}

    # cursors
    page = await http.get(
        f"/{shop['waba_id']}/message_templates", params={"limit": 2}, headers=bearer(shop["token"])
    )
    body = page.json()
    assert len(body["data"]) == 2 and "next" in body["paging"]
    after = body["paging"]["cursors"]["after"]
    rest = await http.get(
        f"/{shop['waba_id']}/message_templates",
        params={"limit": 2, "after": after},
        headers=bearer(shop["token"]),
    )
    assert [t["language"] for t in rest.json()["data"]] == ["fr"] and "next" not in rest.json()["paging"]
    named = await http.get(
        f"/{shop['waba_id']}/message_templates",
        params={"name": "another", "fields": "name"},
        headers=bearer(shop["token"]),
    )
    assert [set(t) for t in named.json()["data"]] == [{"id", "name"}]

    # delete one language by hsm_id, then every language by name
    gone = await http.delete(
        f"/v22.0/{shop['waba_id']}/message_templates",
        params={"name": "order_update", "hsm_id": french.json()["id"]},
        headers=bearer(shop["token"]),
    )
    assert gone.status_code == 200 and gone.json() == {"success": True}
    gone = await http.delete(
        f"/{shop['waba_id']}/message_templates",
        params={"name": "order_update"},
        headers=bearer(shop["token"]),
    )
    assert gone.json() == {"success": True}
    again = await http.delete(
        f"/{shop['waba_id']}/message_templates",
        params={"name": "order_update"},
        headers=bearer(shop["token"]),
    )
    assert again.status_code == 400 and graph_error(again)["code"] == 100
    left = await http.get(f"/{shop['waba_id']}/message_templates", headers=bearer(shop["token"]))
    assert [t["name"] for t in left.json()["data"]] == ["another"]


async def test_bad_templates_are_100_naming_the_field(http: httpx.AsyncClient) -> None:
    shop = await shop_of(http)
    cases = [
        ({**ORDER_UPDATE, "name": "Order Update"}, "name"),
        ({**ORDER_UPDATE, "category": "PROMO"}, "category"),
        ({**ORDER_UPDATE, "components": [{"type": "BODY", "text": "Hi {{1}}"}]}, "components[0].example"),
        ({**ORDER_UPDATE, "components": "BODY"}, "components"),
        ({**ORDER_UPDATE, "name": 7}, "name"),
    ]
    for body, field in cases:
        response = await create(http, shop, body)
        assert response.status_code == 400, body
        error = graph_error(response)
        assert error["code"] == 100 and field in error["message"], (field, error)
    assert (await create(http, shop, ORDER_UPDATE)).status_code == 200
    taken = await create(http, shop, ORDER_UPDATE)
    assert taken.status_code == 400 and "exists already" in graph_error(taken)["message"]
    not_json = await http.post(
        f"/{shop['waba_id']}/message_templates", content=b"{", headers=bearer(shop["token"])
    )
    assert not_json.status_code == 400 and graph_error(not_json)["code"] == 100


async def test_another_business_s_account_and_templates_are_unknown(http: httpx.AsyncClient) -> None:
    mine = await shop_of(http)
    theirs = await shop_of(http, "atelier", "+33987654321")
    made = (await create(http, theirs, ORDER_UPDATE)).json()
    for response in (
        await http.post(
            f"/{theirs['waba_id']}/message_templates", json=ORDER_UPDATE, headers=bearer(mine["token"])
        ),
        await http.get(f"/{theirs['waba_id']}/message_templates", headers=bearer(mine["token"])),
        await http.get(f"/{made['id']}", headers=bearer(mine["token"])),
        await http.delete(
            f"/{theirs['waba_id']}/message_templates",
            params={"name": "order_update"},
            headers=bearer(mine["token"]),
        ),
    ):
        error = graph_error(response)
        assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert (await http.get(f"/{made['id']}", headers=bearer(theirs["token"]))).status_code == 200
    assert (await http.get(f"/{theirs['waba_id']}/message_templates")).status_code == 401


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_the_operator_decides_and_the_bot_is_told(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    shop = await shop_of(http)
    hook = await http.put(
        f"/v1/admin/businesses/{shop['business_id']}/webhook",
        json={"callback_url": receiver.url, "verify_token": receiver.verify_token, "app_secret": SECRET},
        headers=AUTH,
    )
    assert hook.status_code == 200, hook.text
    approved_id = (await create(http, shop, ORDER_UPDATE)).json()["id"]
    rejected_id = (
        await create(http, shop, {**ORDER_UPDATE, "name": "promo", "category": "MARKETING"})
    ).json()["id"]

    pending = await http.get(
        f"/v1/admin/businesses/{shop['business_id']}/templates", params={"status": "PENDING"}, headers=AUTH
    )
    assert [t["template_id"] for t in pending.json()["templates"]] == [approved_id, rejected_id]
    assert pending.json()["templates"][0]["components"] == ORDER_UPDATE["components"]
    assert (await http.post(f"/v1/admin/templates/{approved_id}/approve")).status_code == 401

    approved = await http.post(f"/v1/admin/templates/{approved_id}/approve", headers=AUTH)
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED"
    again = await http.post(f"/v1/admin/templates/{approved_id}/approve", headers=AUTH)
    assert again.status_code == 409
    bad_reason = await http.post(
        f"/v1/admin/templates/{rejected_id}/reject", json={"reason": "ugly"}, headers=AUTH
    )
    assert bad_reason.status_code == 400
    rejected = await http.post(
        f"/v1/admin/templates/{rejected_id}/reject", json={"reason": "promotional"}, headers=AUTH
    )
    assert rejected.json()["status"] == "REJECTED" and rejected.json()["rejected_reason"] == "PROMOTIONAL"
    assert (await http.post("/v1/admin/templates/123456789012345/approve", headers=AUTH)).status_code == 404

    await receiver.wait_until(lambda r: len(r.accepted) == 2)
    assert all(p.signature == signed(p.body) for p in receiver.posts)
    events = [json.loads(body) for body in receiver.accepted]
    assert events[0]["object"] == "whatsapp_business_account"
    entry = events[0]["entry"][0]
    assert entry["id"] == shop["waba_id"] and isinstance(entry["time"], int)
    assert entry["changes"][0]["field"] == "message_template_status_update"
    assert entry["changes"][0]["value"] == {
        "event": "APPROVED",
        "message_template_id": int(approved_id),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "message_template_category": "UTILITY",
        "reason": "NONE",
    }
    assert events[1]["entry"][0]["changes"][0]["value"]["event"] == "REJECTED"
    assert events[1]["entry"][0]["changes"][0]["value"]["reason"] == "PROMOTIONAL"

    listed = await http.get(
        f"/{shop['waba_id']}/message_templates", params={"status": "APPROVED"}, headers=bearer(shop["token"])
    )
    assert [t["id"] for t in listed.json()["data"]] == [approved_id]


@pytest.mark.settings(admin_token=ADMIN, business_template_auto_approve="utility,authentication")
async def test_the_auto_approval_rule_approves_the_categories_it_names(http: httpx.AsyncClient) -> None:
    shop = await shop_of(http)
    utility = await create(http, shop, ORDER_UPDATE)
    marketing = await create(http, shop, {**ORDER_UPDATE, "name": "promo", "category": "MARKETING"})
    assert utility.json()["status"] == "APPROVED" and marketing.json()["status"] == "PENDING"


async def test_the_cli_lists_approves_and_rejects(server: ServerHandle, http: httpx.AsyncClient) -> None:
    shop = await shop_of(http)
    first = (await create(http, shop, ORDER_UPDATE)).json()["id"]
    second = (await create(http, shop, {**ORDER_UPDATE, "name": "promo"})).json()["id"]
    runner = CliRunner()
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_ADMIN_TOKEN": ADMIN}

    async def run(*args: str) -> Any:
        return await asyncio.to_thread(runner.invoke, cli_app, ["business", "template", *args], env=env)

    listed = await run("list", shop["business_id"], "--status", "pending")
    assert listed.exit_code == 0, listed.output
    shown = json.loads(listed.output)["templates"]
    assert [(t["template_id"], t["status"]) for t in shown] == [(first, "PENDING"), (second, "PENDING")]
    approved = await run("approve", first)
    assert approved.exit_code == 0 and json.loads(approved.output)["status"] == "APPROVED", approved.output
    rejected = await run("reject", second, "--reason", "SCAM")
    assert rejected.exit_code == 0 and json.loads(rejected.output)["rejected_reason"] == "SCAM"
    twice = await run("approve", first)
    assert twice.exit_code == 1 and "409" in twice.output and "not PENDING" in twice.output


async def test_the_phone_number_object_shows_the_evaluated_rating_and_tier(
    server: ServerHandle, http: httpx.AsyncClient
) -> None:
    """Quality and tiers are evaluated by the server's periodic job (here run once by hand): the
    phone-number object a bot reads then carries them."""
    shop = await shop_of(http)
    template_id = (await create(http, shop, ORDER_UPDATE)).json()["id"]
    services = server.running.services
    store = business_store_for(services.store)
    now = server.clock.now_ms()
    people = [AccountId(f"acc_{n:04d}") for n in range(125)]
    for who in people:
        await store.note_reached(WabaId(shop["waba_id"]), who, at=now)
        await store.note_template_reach(
            TemplateReach(
                waba=WabaId(shop["waba_id"]),
                number=PhoneNumberId(shop["phone_number_id"]),
                template=TemplateId(template_id),
                account=who,
                at=now,
            )
        )
    for who in people[:4]:
        await services.signals.record(
            business=BusinessId(shop["business_id"]), person=who, kind=SignalKind.BLOCK
        )
    assert await services.quality.evaluate_all() == 1
    number = (await http.get(f"/v22.0/{shop['phone_number_id']}", headers=bearer(shop["token"]))).json()
    assert (number["quality_rating"], number["messaging_limit_tier"]) == ("RED", "TIER_250")
    admin = (await http.get(f"/v1/admin/businesses/{shop['business_id']}", headers=AUTH)).json()
    assert admin["numbers"][0]["quality_rating"] == "RED"


def field_of(raw: Any) -> str:
    try:
        return str(raw["entry"][0]["changes"][0]["field"])
    except (KeyError, IndexError, TypeError):
        return ""


@pytest.mark.settings(admin_token=ADMIN, business_template_auto_approve="utility,authentication")
async def test_an_unmodified_pywa_bot_sees_its_templates_quality_change(
    server: ServerHandle, http: httpx.AsyncClient
) -> None:
    """Meta's ``message_template_quality_update``, sent by the quality evaluation when a template's
    score changes, reaches pywa's ``TemplateQualityUpdate`` handler: UNKNOWN → GREEN once enough
    people were reached, GREEN → RED after their blocks (the template is then paused too). The
    number's fall to RED is Meta's ``phone_number_quality_update`` ``FLAGGED``, which pywa has no
    type for: its raw-update handler gets it."""
    shop = await shop_of(http)
    bot = PywaBot(
        base_url=server.url, phone_id=shop["phone_number_id"], token=shop["token"], waba_id=shop["waba_id"]
    )

    async def noted(_client: Any, _update: Any) -> None:
        return None

    bot.wa.add_handlers(
        TemplateQualityUpdateHandler(bot.handler(noted)),
        RawUpdateHandler(
            bot.handler(noted),
            pywa_filters.new(lambda _, raw: field_of(raw) == "phone_number_quality_update"),
        ),
    )
    await bot.start()
    try:
        hook = {"callback_url": bot.url, "verify_token": bot.verify_token, "app_secret": bot.app_secret}
        answer = await http.put(
            f"/v1/admin/businesses/{shop['business_id']}/webhook", json=hook, headers=AUTH
        )
        assert answer.status_code == 200, answer.text
        template_id = (await create(http, shop, ORDER_UPDATE)).json()["id"]
        services = server.running.services
        store = business_store_for(services.store)
        now = server.clock.now_ms()
        people = [AccountId(f"acc_{n:04d}") for n in range(125)]
        for who in people:
            await store.note_template_reach(
                TemplateReach(
                    waba=WabaId(shop["waba_id"]),
                    number=PhoneNumberId(shop["phone_number_id"]),
                    template=TemplateId(template_id),
                    account=who,
                    at=now,
                )
            )

        def scores(updates: list[Any]) -> list[tuple[str, str]]:
            return [
                (u.previous_quality_score.value, u.new_quality_score.value)
                for u in updates
                if isinstance(u, TemplateQualityUpdate)
            ]

        def flags(updates: list[Any]) -> list[dict[str, Any]]:
            return [u["entry"][0]["changes"][0]["value"] for u in updates if isinstance(u, dict)]

        await services.quality.evaluate_all()
        await bot.wait_until(lambda u: scores(u) == [("UNKNOWN", "GREEN")])
        first = next(u for u in bot.updates if isinstance(u, TemplateQualityUpdate))
        assert isinstance(first, TemplateQualityUpdate)
        assert (first.template_id, first.template_name, first.template_language.value, first.id) == (
            template_id,
            "order_update",
            "en_US",
            shop["waba_id"],
        )
        await services.quality.evaluate_all()  # nothing changed: nothing sent
        for who in people[:4]:
            await services.signals.record(
                business=BusinessId(shop["business_id"]), person=who, kind=SignalKind.BLOCK
            )
        await services.quality.evaluate_all()
        await bot.wait_until(lambda u: scores(u) == [("UNKNOWN", "GREEN"), ("GREEN", "RED")])
        await bot.wait_until(lambda u: len(flags(u)) == 1)
        assert flags(bot.updates) == [
            {
                "display_phone_number": "33123456789",
                "event": "FLAGGED",
                "current_limit": "TIER_250",
                "max_daily_conversations_per_business": "TIER_250",
            }
        ]
        shown = await http.get(f"/v22.0/{template_id}", headers=bearer(shop["token"]))
        assert (shown.json()["status"], shown.json()["quality_score"]["score"]) == ("PAUSED", "RED")
    finally:
        await bot.aclose()
