"""A business in the web apps (docs/protocol.md sections 11.3 and 15, docs/bots.md section 5): a
person on the `social` page finds a business by its number, sees its profile (verified, self-run,
the hosting statement checked in the page) and taps a button of its bot, which gets the tap; a
person on the `photo` page (no buttons) sees the same choices numbered, types "2", and the bot gets
the second option; a STOP typed to the business stops its promotions. The business's strings are
the business's to choose: HTML in them is shown as text, and a `javascript:` link sent by a
tampered endpoint is not a link. Commerce (docs/commerce.md): a product with its price, an order's
status and a payment request on `social` (its amount read from the server's orders, not from the
message), the same as text on `photo`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
CARGO = "<b>Vélo</b> cargo"
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


def commerce(kind: str, **member: Any) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {"type": kind, **member}}


def shop_bot(options: dict[str, object], state: Path, taps: list[str], catalog: dict[str, str]) -> Bot:
    bot = Bot(**options, state_path=state)  # type: ignore[arg-type]

    @bot.on_message(filters.command("boutique"))
    async def boutique(ctx: Context) -> None:
        shown = {"catalog_id": catalog["id"], "product_retailer_id": "cargo"}
        status = {
            "reference_id": "ord-velo-1",
            "order": {"status": "shipped", "description": "<i>Colis</i> 8X"},
        }
        claim = {"reference_id": "ord-velo-2", "currency": "EUR", "total_amount": {"value": 1, "offset": 100}}
        for message in (
            commerce("product", body={"text": "Notre <u>préféré</u>"}, action=shown),
            commerce(
                "order_status",
                body={"text": "En route"},
                action={"name": "review_order", "parameters": status},
            ),
            commerce(
                "order_details",
                body={"text": "À payer"},
                action={"name": "review_and_pay", "parameters": claim},
            ),
        ):
            await ctx.api.send(ctx.customer.user_id, message, number=ctx.update.phone_number_id)

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
        graph = {"Authorization": f"Bearer {bed.token}"}
        made = await bed.admin.post(f"/v22.0/{waba}/product_catalogs", json={"name": "Vélos"}, headers=graph)
        catalog = {"id": made.json()["id"]}
        cargo = {"retailer_id": "cargo", "name": CARGO, "price": 129900, "currency": "EUR", "inventory": 2}
        made = await bed.admin.post(f"/v22.0/{catalog['id']}/products", json=cargo, headers=graph)
        assert made.status_code == 200, made.text
        await bed.serve(shop_bot(bed.bot_options(), tmp_path / "bot.sqlite3", taps, catalog))

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

        # Commerce: a product (its name as text, its price from integer minor units), an order's status,
        # and a payment request whose amount is the server's order, not the message's claim: Marie has
        # no order ord-velo-2, so no amount is shown.
        async with marie.expect_response(lambda r: r.url.endswith("/orders"), timeout=WAIT_MS) as orders:
            await write(marie, "/boutique")
            request = marie.locator("#messages li.theirs", has_text="À payer")
            await request.locator(".biz-amount", has_text="no order of yours").wait_for(timeout=WAIT_MS)
        assert (await orders.value).status == 200
        assert "0.01" not in await request.inner_text()
        product = marie.locator("#messages li.theirs", has_text="Notre <u>préféré</u>")
        assert await product.locator(".biz-product-name").inner_text() == CARGO
        price = product.locator(".biz-price")
        assert await price.get_attribute("data-price") == "1299.00 EUR"
        euros = await marie.evaluate(
            "new Intl.NumberFormat(undefined, {style: 'currency', currency: 'EUR'}).format(1299)"
        )
        assert await price.inner_text() == euros
        status = marie.locator("#messages li.theirs", has_text="En route")
        assert await status.locator(".biz-order").inner_text() == "📦 Order ord-velo-1: shipped"
        assert await status.locator(".biz-order-note").inner_text() == "<i>Colis</i> 8X"
        assert await marie.locator("#messages img, #messages b, #messages i, #messages u").count() == 0
        assert await marie.locator("#messages .mismatch").count() == 1
        assert await marie.evaluate(AUDIT) == []

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
        # Without the feature, the commerce messages' text fallback, as the SDK's apps show it.
        await write(alice, "/boutique")
        await message_shown(alice, f"Notre <u>préféré</u>\n🛍 {CARGO} — 1299.00 EUR")
        await message_shown(alice, "En route\n📦 Order ord-velo-1: shipped\n<i>Colis</i> 8X")
        await message_shown(alice, "💳 Payment request for order ord-velo-2: 0.01 EUR")

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
