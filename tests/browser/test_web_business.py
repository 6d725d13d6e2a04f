"""A business in the web apps (docs/protocol.md sections 11.3 and 15, docs/bots.md section 5): a
person on the `social` page finds a business by its number, sees its profile (verified, self-run,
the hosting statement checked in the page) and taps a button of its bot, which gets the tap; a
person on the `photo` page (no buttons) sees the same choices numbered, types "2", and the bot gets
the second option; a STOP typed to the business stops its promotions. The business's strings are
the business's to choose: HTML in them is shown as text, and a `javascript:` link sent by a
tampered endpoint is not a link."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from passerelle.bot import Bot, Context, Section, filters
from passerelle.bot.testing import running_testbed
from passerelle.bot.updates import Choice
from passerelle.proto.cloud.content import NUMBER_PROMPT
from passerelle.proto.frames import BizMeta
from passerelle.sdk.schema import TextContent
from tests.browser.pages import PW, WAIT_MS, message_shown, open_app_at, register_in_browser, tiny_png, write
from tests.browser.test_web_accessibility import AUDIT

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

HEADER = "<b>Vélo</b> Paris"
BODY = "<img src=x onerror=alert(1)>Que voulez-vous ?"
REPAIR = "<i>Réparer</i>"
PNG = tiny_png(b"velo-atelier")
SALE = {
    "name": "spring_sale",
    "language": "fr",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Soldes <script>x</script>"},
        {
            "type": "BODY",
            "text": "Bonjour {{1}}, -20 % cette semaine.",
            "example": {"body_text": [["Marie"]]},
        },
        {"type": "FOOTER", "text": "Vélo Paris"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "J'en profite"},
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
            ],
        },
    ],
}


def shop_bot(options: dict[str, object], state: Path, taps: list[str]) -> Bot:
    bot = Bot(**options, state_path=state)  # type: ignore[arg-type]

    @bot.on_message(filters.command("start"))
    async def start(ctx: Context) -> None:
        await ctx.reply_buttons(BODY, {"rent": "Louer", "repair": REPAIR}, header=HEADER, footer="Merci")

    @bot.on_message(filters.command("velos"))
    async def bikes(ctx: Context) -> None:
        rows: list[tuple[str, str] | tuple[str, str, str]] = [
            ("city", "Vélo de ville", "3 vitesses"),
            ("cargo", "Vélo cargo"),
        ]
        await ctx.reply_list("Nos vélos", "Voir", [Section("Ville", rows)])

    @bot.on_message(filters.equals("photo"))
    async def photo(ctx: Context) -> None:
        await ctx.reply_media(PNG, "image/png", caption="Notre atelier")

    @bot.on_message(filters.command("promo"))
    async def promo(ctx: Context) -> None:
        body = {"type": "body", "parameters": [{"type": "text", "text": "Marie"}]}
        await ctx.reply_template("spring_sale", "fr", [body])

    @bot.on_choice()
    async def tapped(ctx: Context) -> None:
        assert isinstance(ctx.update, Choice)
        taps.append(ctx.update.choice)
        await ctx.reply_link(f"Choix : {ctx.update.choice}", "Laisser un avis", "https://velo.example/avis")

    @bot.on_message()
    async def anything(ctx: Context) -> None:
        await ctx.reply("Tapez /start.")

    return bot


async def test_a_business_in_the_web_apps(browser: Browser, tmp_path: Path) -> None:
    taps: list[str] = []
    async with running_testbed(
        tmp_path,
        deployment="self_run",
        slug="velo-paris",
        display_number="+33 1 23 45 67 89",
        business_template_auto_approve="all",
    ) as bed:
        waba = (await bed.call("GET", f"/v1/admin/businesses/{bed.business_id}"))["accounts"][0]["waba_id"]
        made = await bed.admin.post(
            f"/v22.0/{waba}/message_templates", json=SALE, headers={"Authorization": f"Bearer {bed.token}"}
        )
        assert made.status_code == 200, made.text
        await bed.serve(shop_bot(bed.bot_options(), tmp_path / "bot.sqlite3", taps))

        async def person(app: str, fields: dict[str, str], query: str) -> Page:
            page = await open_app_at(browser, bed.url, app)
            await register_in_browser(page, fields)
            await page.get_by_label("Find a person by address", exact=False).fill(query)
            await page.get_by_role("button", name="Find", exact=True).click()
            await page.locator("#thread-title", has_text="Velo-Paris").wait_for(timeout=WAIT_MS)
            return page

        # Marie, on social, finds the business by its number and sees its checked profile.
        marie = await person(
            "social",
            {"Username": "marie.d", "Your real name": "Marie Dupont", "Password (8 characters or more)": PW},
            "+33 1 23 45 67 89",
        )
        profile = marie.locator(".biz-profile")
        await profile.locator(".hosting[data-verified=true]", has_text="Self-run").wait_for(timeout=WAIT_MS)
        assert "✓ Verified business" in await profile.inner_text()
        assert "biz:velo-paris" in await profile.inner_text()

        # The bot answers with buttons; the HTML in its strings is text.
        await write(marie, "/start")
        offer = marie.locator("#messages li.theirs", has_text="Que voulez-vous")
        await offer.wait_for(timeout=WAIT_MS)
        assert await offer.locator(".biz-header").inner_text() == HEADER
        assert await offer.locator(".body").inner_text() == BODY
        assert await marie.locator("#messages img, #messages b, #messages i").count() == 0
        await offer.get_by_role("button", name=REPAIR, exact=True).wait_for(timeout=WAIT_MS)
        await offer.get_by_role("button", name="Louer", exact=True).click()
        await message_shown(marie, "Choix : rent")
        assert taps == ["rent"]
        # Its call-to-action is a link opened without access to the page.
        link = marie.locator("#messages a.cta", has_text="Laisser un avis")
        await link.wait_for(timeout=WAIT_MS)
        assert await link.get_attribute("href") == "https://velo.example/avis"
        assert set((await link.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
        # A list: its button opens the rows; choosing one sends the list reply.
        await write(marie, "/velos")
        await marie.get_by_text("Voir", exact=True).click()
        await marie.get_by_role("button", name="Vélo cargo", exact=True).click()
        await message_shown(marie, "Choix : cargo")
        assert taps == ["rent", "cargo"]
        # A marketing template, after Marie allowed promotions: its text and quick replies; tapping
        # "Stop promotions" stops them (source button) before the tap reaches the bot.
        await profile.get_by_role("button", name="Allow promotions").click()
        await profile.locator(".consent", has_text="Promotions: allowed").wait_for(timeout=WAIT_MS)
        await write(marie, "/promo")
        sale = marie.locator("#messages li.theirs", has_text="Bonjour Marie, -20 % cette semaine.")
        await sale.wait_for(timeout=WAIT_MS)
        assert await sale.locator(".biz-header").inner_text() == "Soldes <script>x</script>"
        assert await sale.locator(".biz-footer").inner_text() == "Vélo Paris"
        await sale.get_by_role("button", name="Stop promotions").click()
        await message_shown(marie, "Choix : Stop promotions")
        assert taps == ["rent", "cargo", "Stop promotions"]
        await marie.locator("#convs button", has_text="Velo-Paris").click()
        await profile.locator(".consent", has_text="Promotions: stopped").wait_for(timeout=WAIT_MS)
        assert await marie.evaluate(AUDIT) == []  # the profile, the buttons, the list, the links

        # A tampered endpoint's javascript: link (the Cloud API refuses one; the endpoint holds the
        # keys and could send it anyway) is shown as text, not as a link; declared to the server as a
        # text, it is flagged (and reported) as not what the business declared.
        endpoint = bed.endpoint
        assert endpoint is not None
        marie_account = (await endpoint.endpoint.client.lookup("social:marie.d")).account_id
        evil = {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Cliquez"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Ici", "url": "javascript:alert(1)"},
                },
            },
        }
        wamid = "wamid.Bevil0000000000000001"
        async with marie.expect_response(lambda r: r.url.endswith("/reports"), timeout=WAIT_MS) as report:
            await endpoint.endpoint.client.send_content(
                str(marie_account),
                TextContent(id=wamid, ts=0, body="Cliquez", cloud=evil),
                biz=BizMeta(number=bed.phone_number_id, kind="text", wamid=wamid),
            )
        assert (await report.value).status == 201
        shown = marie.locator("#messages li.theirs", has_text="Cliquez")
        await shown.locator(".not-link", has_text="javascript:alert(1)").wait_for(timeout=WAIT_MS)
        assert await marie.locator("#messages a[href^='javascript' i]").count() == 0
        warning = await shown.locator(".mismatch").inner_text()
        assert "declared text, the content is interactive" in warning
        assert await marie.locator("#messages .mismatch").count() == 1  # the bot's own messages match

        # Alice, on photo (no buttons), reads the choices numbered and types "2": the bot gets "repair".
        alice = await person(
            "photo",
            {"Handle": "alice", "Display name (optional)": "Alice", "Password (8 characters or more)": PW},
            "biz:velo-paris",
        )
        await write(alice, "/start")
        numbered = f"{HEADER}\n{BODY}\n1. Louer\n2. {REPAIR}\nMerci\n{NUMBER_PROMPT}"
        await message_shown(alice, NUMBER_PROMPT)
        bodies = await alice.locator("#messages li.theirs .body").all_inner_texts()
        assert numbered in bodies
        assert await alice.locator("#messages button.choice").count() == 0
        await alice.get_by_label("Message", exact=True).fill("2")
        await alice.get_by_label("Message", exact=True).press("Enter")
        await message_shown(alice, "Choix : repair")
        assert taps == ["rent", "cargo", "Stop promotions", "repair"]
        mine = await alice.locator("#messages li.mine .body").all_inner_texts()
        assert REPAIR in mine and "2" not in mine  # the tap went, titled, not the digit

        # STOP typed to the business stops its promotions (source keyword) before the text goes.
        # Its media comes through the encrypted media path.
        await write(alice, "photo")
        await alice.locator("#messages li.theirs img.photo[src^='blob:']").wait_for(timeout=WAIT_MS)
        await message_shown(alice, "Notre atelier")

        # STOP typed to the business stops its promotions (source keyword) before the text goes.
        await write(alice, "STOP")
        await alice.locator("#convs button", has_text="Velo-Paris").click()
        await alice.locator(".biz-profile .consent", has_text="Promotions: stopped").wait_for(timeout=WAIT_MS)
        await alice.locator("#settings summary").click()
        await alice.locator("#consent-list", has_text="Velo-Paris: marketing stopped").wait_for(
            timeout=WAIT_MS
        )
        await alice.get_by_role("button", name="Allow marketing messages from Velo-Paris").click()
        await alice.locator("#consent-list", has_text="Velo-Paris: marketing allowed").wait_for(
            timeout=WAIT_MS
        )
