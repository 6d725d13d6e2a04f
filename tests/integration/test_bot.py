"""A ``passerelle.bot`` bot through the real server (docs/bots.md), with the testbed bot authors use
(``passerelle.bot.testing``): commands, buttons and lists tapped on ``social`` and ``chat``, the
numbered fallback on ``photo`` (no ``interactive`` feature: the person types "2", the bot gets the
second button with no code of its own for it), media, a failing handler answered politely, the
conversation state kept across a restart of the bot, and a pywa bot serving another number of the
same business side by side."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from passerelle.bot import Bot, CloudApi, CloudError, Context, Section, filters
from passerelle.bot.testing import running_testbed
from passerelle.proto.cloud.content import NUMBER_PROMPT
from passerelle.sdk.events import ReceiptEvent

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


def velo_bot(options: dict[str, object], state: Path) -> Bot:
    """The bike shop's bot, as its author writes it."""
    bot = Bot(**options, state_path=state)  # type: ignore[arg-type]

    @bot.on_message(filters.command("start"))
    async def start(ctx: Context) -> None:
        await ctx.mark_read(typing=True)
        await ctx.reply_buttons(
            "Que voulez-vous ?", {"rent": "Louer", "repair": "Réparer"}, header="Vélo Paris"
        )

    @bot.on_choice(filters.choice("rent"))
    async def rent(ctx: Context) -> None:
        ctx.state.step = "choosing"
        await ctx.reply_list(
            "Nos vélos",
            "Voir",
            [Section("Ville", [("city", "Vélo de ville", "3 vitesses"), ("cargo", "Vélo cargo")])],
        )

    @bot.on_choice(filters.choice("repair"))
    async def repair(ctx: Context) -> None:
        await ctx.reply("Apportez-le demain matin.", quote=True)

    @bot.on_choice(filters.choice("city", "cargo") & filters.step("choosing"))
    async def picked(ctx: Context) -> None:
        ctx.state.step = "booked"
        ctx.state.data["bike"] = ctx.text
        await ctx.reply(f"Réservé : {ctx.text}")

    @bot.on_message(filters.command("avis"))
    async def opinion(ctx: Context) -> None:
        await ctx.reply_quick("Content de votre vélo ?", ["Oui", "Non"])

    @bot.on_choice(filters.choice("Oui", "Non"))
    async def noted(ctx: Context) -> None:
        await ctx.reply_link(f"Merci ! ({ctx.text})", "Laisser un avis", "https://velo.example/avis")

    @bot.on_message(filters.equals("photo"))
    async def photo(ctx: Context) -> None:
        await ctx.reply_media(PNG, "image/png", caption="Notre atelier")

    @bot.on_message(filters.equals("boom"))
    async def broken(ctx: Context) -> None:
        raise RuntimeError("a bug in the bot")

    bot.hand_off_when(
        filters.regex(r"(?i)\b(humain|conseiller|human)\b"),
        summary=lambda ctx: f"{ctx.customer.name} demande un conseiller (étape : {ctx.state.step})",
        answer="Je vous passe un conseiller.",
    )

    @bot.on_handoff()
    async def back(ctx: Context) -> None:
        if ctx.state.handoff is None:  # handed back or resolved: the bot speaks again
            await ctx.reply("Le robot est de retour. Tapez /start.")

    @bot.on_message(filters.step("booked"))
    async def booked(ctx: Context) -> None:
        await ctx.reply(f"Votre {ctx.state.data['bike']} vous attend.")

    @bot.on_message()
    async def anything_else(ctx: Context) -> None:
        await ctx.reply(f"Bonjour {ctx.customer.name} ! Tapez /start.")

    return bot


async def test_a_bot_answers_on_every_app_with_the_fallback_where_buttons_are_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="passerelle.bot")
    async with running_testbed(tmp_path, deployment="hosted") as bed:
        state = tmp_path / "bot-state.sqlite3"
        bot = velo_bot(bed.bot_options(), state)
        await bed.serve(bot)
        marie = await bed.customer("marie", app="social")
        alice = await bed.customer("alice", app="photo")

        await marie.say("salut")
        await marie.sees_text("Bonjour Marie ! Tapez /start.")

        # Buttons on social: tapped.
        await marie.say("/start")
        menu = await marie.sees(lambda m: m.cloud is not None)
        assert marie.client.businesses.choices(menu) == {"rent": "Louer", "repair": "Réparer"}
        await marie.tap(menu, "rent")
        listed = await marie.sees(lambda m: m.cloud is not None and m.id != menu.id)
        assert "Vélo cargo" in listed.text
        await marie.tap(listed, "cargo")
        await marie.sees_text("Réservé : Vélo cargo")

        # The bot marked Marie's /start read; quick replies, then a call-to-action link.
        await marie.saw(lambda e: isinstance(e, ReceiptEvent) and e.kind == "read")
        await marie.say("/avis")
        quick = await marie.sees(lambda m: m.text.startswith("Content de votre vélo"))
        assert marie.client.businesses.choices(quick) == {"Oui": "Oui", "Non": "Non"}
        await marie.tap(quick, "Oui")
        link = await marie.sees(lambda m: m.text.startswith("Merci ! (Oui)"))
        assert link.cloud is not None and link.cloud["interactive"]["type"] == "cta_url"
        assert "https://velo.example/avis" in link.text

        # photo shows no buttons: Alice reads a numbered list and types "2"; the bot gets "repair".
        await alice.say("/start")
        offer = await alice.sees(lambda m: m.cloud is not None)
        assert offer.text == f"Vélo Paris\nQue voulez-vous ?\n1. Louer\n2. Réparer\n{NUMBER_PROMPT}"
        await alice.say("2")
        answer = await alice.sees_text("Apportez-le demain matin.")
        assert answer.reply_to is not None  # in reply to what Alice sent: the tap, titled "Réparer"
        sent = [m for m in await alice.client.history(offer.conv) if m.outgoing]
        assert sent[-1].text == "Réparer" and sent[-1].cloud is not None
        assert sent[-1].cloud["interactive"]["button_reply"]["id"] == "repair"
        # A number typed when no choice is offered is only text.
        await alice.say("2")
        await alice.sees(lambda m: m.text.startswith("Bonjour Alice"))

        # Media: uploaded by the bot, encrypted by the endpoint, downloaded by the person's SDK.
        await alice.say("photo")
        image = await alice.sees(lambda m: m.attachment is not None)
        assert image.text == "Notre atelier"
        assert await alice.client.media.download(image) == PNG

        # A handler that raises: the customer gets an apology, the traceback is logged.
        await alice.say("boom")
        await alice.sees_text("Sorry, something went wrong on our side. Please try again in a moment.")
        assert any(r.exc_info and "a bug in the bot" in str(r.exc_info[1]) for r in caplog.records)
        # No customer's words in the bot's info lines.
        info = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records if r.levelno >= logging.INFO)
        assert "salut" not in info and "Bonjour Marie" not in info

        # Hand-off: Marie asks for a person; the bot says so and hands off with its summary.
        await marie.say("Je voudrais parler à un humain")
        await marie.sees_text("Je vous passe un conseiller.")
        [handoff] = await bed.handoffs()
        assert (
            handoff["status"] == "open"
            and handoff["summary"] == "Marie demande un conseiller (étape : booked)"
        )
        assert handoff["user_id"].startswith("ZZ.") and "account" not in str(handoff)
        # While a person has it, the bot is silent for Marie (and only for her).
        silenced = bot.silenced
        await marie.say("allo ?")
        await bot.wait_for(lambda: bot.silenced == silenced + 1)
        await alice.say("hello")
        await alice.sees(lambda m: m.text == "Bonjour Alice ! Tapez /start." and m.id != offer.id)
        # Asking again answers the active one; bad requests get the Cloud API's errors.
        marie_id = handoff["user_id"]
        asked = await bot.api.hand_off(marie_id, summary="encore", reason="requested")
        assert asked == {"handoff_id": handoff["handoff_id"], "status": "open", "created": False}
        with pytest.raises(CloudError) as unknown:
            await bot.api.hand_off("ZZ.0000000000000000001", summary="x", reason="requested")
        assert unknown.value.code == 100 and unknown.value.status == 400
        with pytest.raises(CloudError) as long:
            await bot.api.hand_off(marie_id, summary="x" * 4097, reason="requested")
        assert long.value.code == 100
        stranger = CloudApi(bed.base_url, phone_number_id=bed.phone_number_id, token="pbt_not-a-token")
        with pytest.raises(CloudError) as refused:
            await stranger.hand_off(marie_id, summary="x", reason="requested")
        assert refused.value.code == 190
        await stranger.aclose()
        for method, path, body, status in [
            ("POST", f"handoffs/{handoff['handoff_id']}/take", {"agent": " "}, 400),
            ("POST", "handoffs/ho_unknown/resolve", None, 404),
            ("GET", "handoffs", None, 200),
        ]:
            admin = await bed.admin.request(
                method, f"/v1/admin/businesses/{bed.business_id}/{path}", json=body
            )
            assert admin.status_code == status, admin.text
        nobody = await bed.admin.get("/v1/admin/businesses/bz_nobody/handoffs")
        assert nobody.status_code == 404
        assert (
            await bed.admin.get(
                f"/v1/admin/businesses/{bed.business_id}/handoffs", headers={"Authorization": "Bearer x"}
            )
        ).status_code == 401
        taken = await bed.take(handoff["handoff_id"], "Léa")
        assert taken["status"] == "taken" and taken["agent"] == "Léa"
        assert await bed.handoffs() == [taken]
        await bed.hand_back(handoff["handoff_id"])
        await marie.sees_text("Le robot est de retour. Tapez /start.")  # the webhook reached the bot
        assert await bed.handoffs() == []
        with pytest.raises(AssertionError, match="409"):
            await bed.resolve(handoff["handoff_id"])  # it ended: nothing moves it again

        # The state survives a restart: a new bot on the same file remembers Marie's booking.
        await bot.aclose()
        again = velo_bot(bed.bot_options(), state)
        await bed.serve(again)
        await marie.say("et alors ?")
        await marie.sees_text("Votre Vélo cargo vous attend.")


async def test_a_passerelle_bot_and_a_pywa_bot_serve_one_business(tmp_path: Path) -> None:
    """One self-run business, one webhook URL that hands each signed post to both bots (each checks
    the signature): an unmodified pywa bot answers ``/prix``, ours ``/start`` and the taps — both
    through the same Cloud API of the same endpoint."""
    from pywa_async import filters as pywa_filters
    from pywa_async.types import Message as PywaMessage

    from tests.integration.pywa_bot import APP_SECRET, VERIFY_TOKEN, PywaBot

    async with running_testbed(tmp_path, deployment="self_run") as bed:
        bed.app_secret, bed.verify_token = APP_SECRET, VERIFY_TOKEN  # the business's, pywa's too
        ours = Bot(**bed.bot_options(), state_path=tmp_path / "state.sqlite3")  # type: ignore[arg-type]

        @ours.on_message(filters.command("start"))
        async def start(ctx: Context) -> None:
            await ctx.reply_buttons("Que voulez-vous ?", {"rent": "Louer", "repair": "Réparer"})

        @ours.on_choice()
        async def tapped(ctx: Context) -> None:
            await ctx.reply(f"Choisi : {ctx.text}")

        @ours.on_message(filters.command("humain"))
        async def human(ctx: Context) -> None:
            await ctx.hand_off(f"{ctx.customer.name} veut un humain")
            await ctx.reply("Un conseiller arrive.")

        @ours.on_handoff()
        async def back(ctx: Context) -> None:
            if ctx.state.handoff is None:
                await ctx.reply("Le robot est de retour.")

        pywa = PywaBot(base_url=bed.base_url, phone_id=bed.phone_number_id, token=bed.token, waba_id="")

        async def price(client: object, msg: PywaMessage) -> None:
            await msg.reply_text("Location : 15 € la journée")

        pywa.wa.on_message(filters=pywa_filters.command("prix"))(pywa.handler(price))
        ours_app, pywa_app = ours.asgi(), pywa.app
        answered: list[list[int]] = []

        async def both(request: Request) -> Response:
            body = await request.body()
            statuses = [await _post(app, request, body) for app in (ours_app, pywa_app)]
            answered.append(statuses)
            return Response(await _get(ours_app, request) if request.method == "GET" else b"", max(statuses))

        front = PywaBot(base_url=bed.base_url, phone_id=bed.phone_number_id, token=bed.token, waba_id="")
        await front.start(Starlette(routes=[Route("/webhook", both, methods=["GET", "POST"])]))
        try:
            await bed.set_webhook(front.url)
            chloe = await bed.customer("chloe", app="chat")
            await chloe.say("/prix")
            await chloe.sees_text("Location : 15 € la journée")  # pywa's answer
            await chloe.say("/start")
            menu = await chloe.sees(lambda m: m.cloud is not None)  # ours
            await chloe.tap(menu, "rent")
            await chloe.sees_text("Choisi : Louer")
            # The hand-off through the self-run endpoint (it forwards the call to the server); its
            # webhooks reach both bots, and pywa takes the field it does not know without an error.
            await chloe.say("/humain")
            await chloe.sees_text("Un conseiller arrive.")
            [handoff] = await bed.handoffs()
            assert handoff["summary"] == "Chloe veut un humain"
            await bed.resolve(handoff["handoff_id"])
            await chloe.sees_text("Le robot est de retour.")
            assert [u.text for u in pywa.updates] == ["/prix"]
            # /start, the tap, /humain, the hand-off opened, then resolved
            await ours.wait_for(lambda: ours.handled == 5)
            assert all(max(s) < 300 for s in answered), answered
        finally:
            await front.aclose()
            await pywa.aclose()
            await ours.aclose()


async def _post(app: Starlette, request: Request, body: bytes) -> int:
    """Hand one request to an in-process ASGI app; its status."""
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http:
        answer = await http.request(
            request.method,
            "/webhook",
            params=request.query_params,
            content=body,
            headers={
                k: v for k, v in request.headers.items() if k.lower().startswith(("x-hub", "content-type"))
            },
        )
    return answer.status_code


async def _get(app: Starlette, request: Request) -> bytes:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http:
        return (await http.get("/webhook", params=request.query_params)).content
