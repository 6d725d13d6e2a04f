"""Quality signals through the real server (docs/business.md section 5): a person blocks a business
from their app, another reports it, and a third one's device catches a lying endpoint — a message
declared ``text`` whose content is a marketing template — and reports the mismatch by itself. Each
is a signal against the template that last reached the person; 3 of 100 people reached is RED: the
template is paused (the bot told by ``message_template_status_update``), its sends fail with 132015,
the number's ``quality_rating`` is RED; a third RED disables it (132016).

Reaching 100 people through the endpoint would make a slow test, so 97 earlier recipients of the
template are written into the server's store as the admission writes them (``note_template_reach``);
the three people and every signal go through the real server, endpoint and SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner, Result

from passerelle.cli.main import app as cli_app
from passerelle.domain.business.ids import PhoneNumberId, TemplateId, WabaId
from passerelle.domain.business.quality import SignalKind
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.proto.frames import BizMeta
from passerelle.sdk import Client
from passerelle.sdk.errors import InvalidInput, NotFound, RateLimited
from passerelle.sdk.events import BusinessMismatchEvent
from passerelle.sdk.schema import TextContent
from passerelle.service.business.records import TemplateReach
from passerelle.storage.business import business_store_for
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, Shop, enrolment, events, inbound, open_shop, self_run
from tests.integration.test_business import ADMIN, PW
from tests.integration.test_endpoint_templates import SPRING_SALE, code, made_template, template
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def operator_cli(server: ServerHandle, *args: str) -> Result:
    """``passerelle business …`` run as the operator against the test server."""
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_ADMIN_TOKEN": ADMIN}
    return await asyncio.to_thread(CliRunner().invoke, cli_app, ["business", *args], env=env)


def has_inbound(n: int, bot: Receiver) -> bool:
    return len(inbound(bot)) == n


def template_updates(bot: Receiver) -> list[str]:
    return [v["event"] for v in events(bot) if "message_template_id" in v and "event" in v]


async def person(server: ServerHandle, tmp_path: Path, name: str, app: str) -> Client:
    if app == "photo":
        client = await Client.register(
            server.url, tmp_path / name, app=app, handle=name, display_name=name.title(), password=PW
        )
    else:
        client = await Client.register(
            server.url, tmp_path / name, app=app, username=f"{name}.x", display_name=name.title(), password=PW
        )
    await client.connect()
    return client


async def test_blocks_reports_and_a_caught_lie_pause_then_disable_the_template(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop: Shop = await open_shop(http, receiver)
    made = await http.post(
        f"/v22.0/{shop.waba_id}/message_templates",
        json=SPRING_SALE,
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    sale_id = TemplateId(made.json()["id"])
    await made_template(http, shop, {**SPRING_SALE, "name": "other_sale"}, approve=True)
    await http.post(f"/v1/admin/templates/{sale_id}/approve", headers={"Authorization": f"Bearer {ADMIN}"})
    services = server.running.services
    biz = business_store_for(services.store)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)) as (ep, base):
        bot = Bot(base, shop)
        marie = await person(server, tmp_path, "marie", "social")
        paul = await person(server, tmp_path, "paul", "photo")
        lea = await person(server, tmp_path, "lea", "social")
        people = (marie, paul, lea)
        try:
            found = await marie.businesses.find("biz:velo-paris")
            account = str(found.account_id)
            ids: dict[Client, str] = {}
            for n, who in enumerate(people, start=1):  # each writes (the bot learns their ids), opts in
                await who.send_text(account, "bonjour")
                await receiver.wait_until(partial(has_inbound, n))
                ids[who] = inbound(receiver)[-1]["contacts"][0]["user_id"]
                await who.businesses.opt_in(found.business_id, "marketing")
            mismatches = aiter(lea.business_mismatches())

            async def one_round(earlier: int) -> None:
                """The template reaches 100 people outside a window; 3 of them give a signal."""
                server.clock.advance(25 * 3600)  # windows closed, a day since the last reports
                since = Timestamp(services.clock.now_ms())
                await services.quality.evaluate_all()  # a pause that ran out ends (REINSTATED)
                for i in range(97):
                    await biz.note_template_reach(
                        TemplateReach(
                            waba=WabaId(shop.waba_id),
                            number=PhoneNumberId(shop.number_id),
                            template=sale_id,
                            account=AccountId(f"earlier-{earlier}-{i}"),
                            at=services.clock.now_ms(),
                        )
                    )
                for who in people:
                    sent = await bot.send({"recipient": ids[who], **template("spring_sale", "Vous", "-30 %")})
                    assert sent.status_code == 200, sent.text
                # Marie blocks the business from her app: its sends to her fail at once.
                await marie.businesses.block(found)
                refused = await bot.send({"recipient": ids[marie], "type": "text", "text": {"body": "?"}})
                assert code(refused) == 131026
                # Paul reports it.
                reported = await paul.businesses.report(found.business_id, "spam")
                assert (reported.signal, reported.reason) == ("report", "spam")
                # Lea writes; the endpoint lies: "text" declared, a marketing template inside.
                await lea.send_text(account, "une question")
                wamid = f"wamid.lie{earlier}"
                lie = TextContent(
                    id=wamid,
                    ts=services.clock.now_ms(),
                    body="Soldes ! -50 % sur tout",
                    cloud={
                        "type": "template",
                        "template": {"name": "free_bike", "language": "fr", "category": "MARKETING"},
                    },
                )
                declared = BizMeta(number=shop.number_id, kind="text", wamid=wamid)
                await ep.endpoint.client.send_content(str(lea.account_id), lie, biz=declared)
                async with asyncio.timeout(10):
                    caught: BusinessMismatchEvent = await anext(mismatches)
                assert caught.message_id == wamid
                assert (caught.declared.kind, caught.observed.kind, caught.observed.template) == (
                    "text",
                    "template",
                    "free_bike",
                )
                # The device reported it by itself: the server holds a mismatch signal.
                async with asyncio.timeout(10):
                    while True:
                        counts = await biz.quality_counts(WabaId(shop.waba_id), since=since)
                        if counts.signals.get((shop.number_id, sale_id, SignalKind.MISMATCH)):
                            break
                        await asyncio.sleep(0.05)
                assert counts.signals.get((shop.number_id, sale_id, SignalKind.BLOCK)) == 1, counts.signals
                assert counts.signals[(shop.number_id, sale_id, SignalKind.REPORT)] == 1
                await marie.businesses.unblock(found)  # for the next round
                await services.quality.evaluate_all()

            await one_round(1)
            await receiver.wait_until(lambda r: template_updates(r)[-1:] == ["PAUSED"])
            # The operator sees what counted, and why (kinds and template names, never content),
            # with `passerelle business signals` (the admin API's GET …/signals).
            listed = await operator_cli(server, "signals", shop.business_id)
            assert listed.exit_code == 0, listed.output
            shown = json.loads(listed.output)["signals"]
            why = {(s["kind"], s["reason"], s["template_id"], s["phone_number_id"]) for s in shown}
            assert why == {
                ("block", "", sale_id, shop.number_id),
                ("report", "spam", sale_id, shop.number_id),
                (
                    "mismatch",
                    "declared text; observed template free_bike fr MARKETING",
                    sale_id,
                    shop.number_id,
                ),
            }
            assert {s["waba_id"] for s in shown} == {shop.waba_id}
            assert [s["at"] for s in shown] == sorted((s["at"] for s in shown), reverse=True)
            newest = await operator_cli(server, "signals", shop.business_id, "--limit", "1")
            assert [s["kind"] for s in json.loads(newest.output)["signals"]] == [shown[0]["kind"]]
            unknown = await operator_cli(server, "signals", "bz_nosuchbusiness00000000")
            assert unknown.exit_code == 1 and "404" in unknown.output, unknown.output
            # Only the operator: the business's own token is not the admin token.
            theirs = await http.get(
                f"/v1/admin/businesses/{shop.business_id}/signals",
                headers={"Authorization": f"Bearer {shop.token}"},
            )
            assert theirs.status_code == 401, theirs.text
            number = await http.get(
                f"/v22.0/{shop.number_id}", headers={"Authorization": f"Bearer {shop.token}"}
            )
            assert number.json()["quality_rating"] == "RED"
            shown = await http.get(f"/v22.0/{sale_id}", headers={"Authorization": f"Bearer {shop.token}"})
            assert (shown.json()["status"], shown.json()["quality_score"]["score"]) == ("PAUSED", "RED")
            assert (
                code(await bot.send({"recipient": ids[paul], **template("spring_sale", "A", "B")})) == 132015
            )
            # The other template of the account is not paused.
            other = await bot.send({"recipient": ids[paul], **template("other_sale", "A", "B")})
            assert other.status_code == 200, other.text

            # A second report the same day is refused; the signal is kept once anyway.
            with pytest.raises(RateLimited):
                await paul.businesses.report(found.business_id, "scam")

            await one_round(2)  # the pause ran out (REINSTATED), RED again: paused 6 hours
            await receiver.wait_until(lambda r: template_updates(r)[-2:] == ["REINSTATED", "PAUSED"])
            await one_round(3)  # and the third time, disabled
            await receiver.wait_until(lambda r: template_updates(r)[-2:] == ["REINSTATED", "DISABLED"])
            server.clock.advance(25 * 3600)
            assert (
                code(await bot.send({"recipient": ids[paul], **template("spring_sale", "A", "B")})) == 132016
            )
        finally:
            for who in people:
                await who.close()
            await bot.aclose()


async def test_a_person_reports_only_a_business_they_dealt_with(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    async with self_run(server, tmp_path / "endpoint", await enrolment(http, shop.business_id)):
        zoe = await person(server, tmp_path, "zoe", "social")
        try:
            found = await zoe.businesses.find("biz:velo-paris")
            with pytest.raises(NotFound):
                await zoe.businesses.report(found.business_id, "spam")
            with pytest.raises(NotFound):
                await zoe.businesses.report("bz_nosuchbusiness00000000", "spam")
            await zoe.send_text(str(found.account_id), "bonjour")
            await receiver.wait_until(lambda r: len(inbound(r)) == 1)
            with pytest.raises(InvalidInput):
                await zoe.businesses.report(found.business_id, "because")
            done = await zoe.businesses.report(found.business_id, "unwanted")
            assert done.signal == "report"
        finally:
            await zoe.close()
