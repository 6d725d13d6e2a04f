"""A person's linked accounts through the real server (docs/business.md section 3.1, docs/protocol.md
section 16): Ann has accounts on photo, chat and social and links them (a code made on one, taken
on another); a forged or replayed link fails. She shares them with the bike shop: its
``passerelle.bot`` bot sees one customer (one ``user_id``) whichever app she writes from, and its
reply reaches the app she last wrote from; an order placed on chat is in her order history on photo
and social; a STOP on social stops marketing on every app. Another business, not shared, sees
unrelated ids. Unlinking splits them again for what comes next; erasure removes the links."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from passerelle.bot import Bot, Context, Status, testing
from passerelle.bot.testing import PASSWORD, running_testbed
from passerelle.sdk.errors import Conflict, InvalidInput, NotFound


async def catalog_of(bed: testing.Testbed, business_id: str, token: str) -> str:
    """A catalog with one product (``bell``, 3.00 EUR), made by the business over the Graph API."""
    waba = (await bed.call("GET", f"/v1/admin/businesses/{business_id}"))["accounts"][0]["waba_id"]
    graph = httpx.AsyncClient(base_url=bed.url + "/v26.0", headers={"Authorization": f"Bearer {token}"})
    async with graph:
        made = await graph.post(f"/{waba}/product_catalogs", json={"name": "Shop"})
        catalog = str(made.json()["id"])
        product = {"retailer_id": "bell", "name": "Bell", "price": 300, "currency": "EUR", "inventory": 50}
        assert (await graph.post(f"/{catalog}/products", json=product)).status_code == 200
    return catalog


async def seen_by(bed: testing.Testbed, token: str, order_id: str, status: str = "processing") -> str:
    """The ``user_id`` a business reads on an order (moving its status on, as its bot does)."""
    graph = httpx.AsyncClient(base_url=bed.url + "/v26.0", headers={"Authorization": f"Bearer {token}"})
    async with graph:
        answer = await graph.post(f"/{order_id}/order_status", json={"status": status})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["user_id"])


async def test_one_customer_across_apps_only_where_the_person_shares(tmp_path: Path) -> None:
    async with running_testbed(tmp_path) as bed:
        bot = Bot(**bed.bot_options(), state_path=tmp_path / "bot.db")
        seen: list[tuple[str, str]] = []  # (what, user_id) as the bot saw them

        @bot.on_message()
        async def message(ctx: Context) -> None:
            seen.append((ctx.text, ctx.customer.user_id))
            await ctx.reply(f"got {ctx.text}")

        ordered: asyncio.Queue[str] = asyncio.Queue()

        @bot.on_order()
        async def order(ctx: Context) -> None:
            await ordered.put(ctx.customer.user_id)

        await bed.serve(bot)
        photo, chat, social = (
            await bed.customer("ann", app="photo"),
            await bed.customer("anne", app="chat"),
            await bed.customer("anna", app="social"),
        )
        me = {p: str(p.client.account_id) for p in (photo, chat, social)}
        catalog = await catalog_of(bed, bed.business_id, bed.token)

        # -- linking: a code made on photo, taken on chat; forged, replayed and self links fail ----
        with pytest.raises(NotFound):  # chat never got a code from social: nothing to take
            await chat.client.links.take("made-up-code-" + "x" * 30)
        code = (await photo.client.links.request()).code
        with pytest.raises(InvalidInput):  # photo cannot approve its own request
            await photo.client.links.take(code)
        code = (await photo.client.links.request()).code
        linked = await chat.client.links.take(code)
        assert set(linked.accounts) == {me[photo], me[chat]} and linked.shared_with == []
        with pytest.raises(NotFound):  # replayed: a code works once
            await social.client.links.take(code)
        linked = await social.client.links.take((await chat.client.links.request()).code)
        assert set(linked.accounts) == set(me.values())
        assert (await photo.client.links.mine()).accounts == linked.accounts  # the person sees them
        with pytest.raises(NotFound):  # but cannot unlink an account that is not theirs
            await photo.client.links.unlink(str(bed.people[0].business))

        # -- shared with the shop: one customer from every app -------------------------------------
        shared = await chat.client.businesses.share_identity(bed.business_id, True)
        assert shared.shared_with == [bed.business_id]
        await photo.say("hello from photo")
        await photo.sees_text("got hello from photo")
        await chat.say("hello from chat")
        await chat.sees_text("got hello from chat")  # the reply reaches the app she last wrote from
        await social.say("hello from social")
        await social.sees_text("got hello from social")
        await photo.say("photo again")
        await photo.sees_text("got photo again")  # back on photo: the reply follows her there
        users = {user for _, user in seen}
        assert len(seen) == 4 and len(users) == 1, seen
        customer = users.pop()

        # -- one order history: ordered on chat, listed on photo and social -------------------------
        placed = await chat.client.businesses.order(bed.business_id, catalog, {"bell": 1})
        paid = await social.client.businesses.pay(placed.order_id, "4242 4242 4242 4242")  # paid on social
        assert paid.status == "succeeded"
        assert await asyncio.wait_for(ordered.get(), 10) == customer  # the bot's order webhook
        assert await seen_by(bed, bed.token, placed.order_id, "shipped") == customer
        for person in (photo, social):
            [listed] = await person.client.businesses.orders(bed.business_id)
            assert listed.order_id == placed.order_id and [p.status for p in listed.payments] == ["succeeded"]

        # -- STOP on social stops marketing on every app ---------------------------------------------
        for person in (photo, chat):
            await person.client.businesses.opt_in(bed.business_id, "marketing")
        await social.client.businesses.stop(bed.business_id)
        for person in (photo, chat, social):
            states = {
                (c.business_id, c.scope): c.state
                for c in (await person.client.businesses.consents()).consents
            }
            assert states[(bed.business_id, "marketing")] == "revoked", person

        # -- another business, not shared: unrelated ids for each account ---------------------------
        other = await open_other(bed)
        other_catalog = await catalog_of(bed, other["business_id"], other["token"])
        at_other = [
            await seen_by(
                bed,
                other["token"],
                (await p.client.businesses.order(other["business_id"], other_catalog, {"bell": 1})).order_id,
            )
            for p in (photo, chat)
        ]
        assert len(set(at_other)) == 2 and customer not in at_other
        assert [o.business_id for o in await photo.client.businesses.orders(other["business_id"])] == [
            other["business_id"]
        ]  # photo's own order there only: chat's is not hers to list at an unshared business

        # -- unlinking splits them for the future ----------------------------------------------------
        left = await photo.client.links.unlink(me[chat])
        assert set(left.accounts) == {me[photo], me[social]}
        assert (await chat.client.links.mine()).accounts == []
        again = await chat.client.businesses.order(bed.business_id, catalog, {"bell": 1})
        assert await asyncio.wait_for(ordered.get(), 10) != customer  # chat on its own again
        assert await seen_by(bed, bed.token, again.order_id) != customer
        assert [o.order_id for o in await photo.client.businesses.orders(bed.business_id)] == []

        # -- the links are in the person's export; erasure takes them with the account -------------
        exported = await photo.client.privacy.export()
        assert set(exported["linked_accounts"]) == {me[photo], me[social]}
        assert exported["shared_with"] == [bed.business_id]
        assert (await chat.client.privacy.export())["linked_accounts"] == []
        await social.client.privacy.erase(password=PASSWORD)
        assert (await photo.client.links.mine()).accounts == []  # a group of one is no group
        with pytest.raises(Conflict):  # sharing needs a link
            await photo.client.businesses.share_identity(bed.business_id, True)


async def open_other(bed: testing.Testbed) -> dict[str, Any]:
    made = await bed.call(
        "POST", "/v1/admin/businesses", {"slug": "atelier", "name": "Atelier", "verified": True}
    )
    business = made["business_id"]
    account = await bed.call("POST", f"/v1/admin/businesses/{business}/accounts", {"name": "main"})
    await bed.call(
        "POST",
        f"/v1/admin/businesses/{business}/numbers",
        {"waba_id": account["waba_id"], "display_number": "+33 1 00 00 00 02"},
    )
    token = await bed.call("POST", f"/v1/admin/businesses/{business}/tokens", {"label": "bot"})
    return {"business_id": business, "token": token["token"]}


async def test_an_order_moves_the_replies_to_the_account_it_came_from(tmp_path: Path) -> None:
    """Ann writes on photo, then orders on chat: the bot's answer to the order reaches chat, as it
    would had she written there; photo reading an older reply afterwards does not take it back."""
    async with running_testbed(tmp_path) as bed:
        bot = Bot(**bed.bot_options(), state_path=tmp_path / "bot.db")
        read: asyncio.Queue[str] = asyncio.Queue()

        @bot.on_message()
        async def message(ctx: Context) -> None:
            await ctx.reply(f"got {ctx.text}")

        @bot.on_order()
        async def order(ctx: Context) -> None:
            await ctx.reply("thanks for your order")

        @bot.on_payment()
        async def payment(ctx: Context) -> None:
            await ctx.reply("paid, thank you")

        @bot.on_status()
        async def status(ctx: Context) -> None:
            assert isinstance(ctx.update, Status)
            if ctx.update.status == "read":
                await read.put(ctx.update.id)

        await bed.serve(bot)
        photo, chat = await bed.customer("ann", app="photo"), await bed.customer("anne", app="chat")
        catalog = await catalog_of(bed, bed.business_id, bed.token)
        await chat.client.links.take((await photo.client.links.request()).code)
        await chat.client.businesses.share_identity(bed.business_id, True)

        await photo.say("hello from photo")
        hello = await photo.sees_text("got hello from photo")
        placed = await chat.client.businesses.order(bed.business_id, catalog, {"bell": 1})
        await chat.sees_text("thanks for your order")  # where she ordered, not where she last wrote
        assert hello.id is not None
        await photo.client.mark_read(hello.conv, [hello.id])  # photo reads the older reply …
        await asyncio.wait_for(read.get(), 10)  # … and the business has the receipt
        await chat.client.businesses.pay(placed.order_id, "4242 4242 4242 4242")
        await chat.sees_text("paid, thank you")  # a receipt does not take the replies back to photo
        assert [m.text for m in photo.shown()] == ["got hello from photo"]
