"""Businesses through the real server (docs/protocol.md section 15): the operator's admin API and
``passerelle business`` commands, and people on any app finding a business and keeping their
consents with the real SDK."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from rich.console import Console
from typer.testing import CliRunner

from passerelle.cli.chat.input import StdinLines
from passerelle.cli.chat.session import ChatSession
from passerelle.cli.chat.view import AppStyles
from passerelle.cli.main import app as cli_app
from passerelle.sdk import Client, NotFound, RateLimited
from tests.conftest import ServerHandle

ADMIN = "operator-secret-token-0123456789"
PW = "correct horse battery"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
pytestmark = pytest.mark.settings(admin_token=ADMIN)


async def made_business(http: httpx.AsyncClient, slug: str = "velo-paris", **extra: Any) -> dict[str, Any]:
    body = {"slug": slug, "name": "Vélo Paris", "about": "Bikes", "website": "https://velo.example", **extra}
    response = await http.post("/v1/admin/businesses", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def with_number(http: httpx.AsyncClient, business_id: str, display: str) -> dict[str, Any]:
    account = await http.post(
        f"/v1/admin/businesses/{business_id}/accounts", json={"name": "main"}, headers=AUTH
    )
    assert account.status_code == 201
    waba = account.json()["waba_id"]
    number = await http.post(
        f"/v1/admin/businesses/{business_id}/numbers",
        json={"waba_id": waba, "display_number": display},
        headers=AUTH,
    )
    assert number.status_code == 201, number.text
    return dict(number.json())


async def test_the_operator_builds_a_business(http: httpx.AsyncClient) -> None:
    shop = await made_business(http)
    assert shop["address"] == "biz:velo-paris" and shop["business_id"].startswith("bz_")
    assert shop["verified"] is False and shop["accounts"] == [] and shop["numbers"] == []
    number = await with_number(http, shop["business_id"], "+33 1 23 45 67 89")
    assert number["display_phone_number"] == "+33123456789" and number["quality_rating"] == "UNKNOWN"
    assert len(number["phone_number_id"]) == 15 and number["phone_number_id"].isdigit()
    shown = (await http.get(f"/v1/admin/businesses/{shop['business_id']}", headers=AUTH)).json()
    assert shown["accounts"][0]["messaging_limit_tier"] == "TIER_250"
    assert shown["numbers"] == [number]
    patched = await http.patch(
        f"/v1/admin/businesses/{shop['business_id']}",
        json={"verified": True, "about": "Bikes!"},
        headers=AUTH,
    )
    assert patched.status_code == 200
    assert patched.json()["verified"] is True and patched.json()["about"] == "Bikes!"
    assert patched.json()["name"] == "Vélo Paris"
    listed = (await http.get("/v1/admin/businesses", headers=AUTH)).json()["businesses"]
    assert [b["slug"] for b in listed] == ["velo-paris"]


async def test_admin_refusals(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/admin/businesses")).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await http.get("/v1/admin/businesses", headers=wrong)).status_code == 401
    shop = await made_business(http)
    again = await http.post("/v1/admin/businesses", json={"slug": "velo-paris", "name": "x"}, headers=AUTH)
    assert again.status_code == 409
    bad = await http.post("/v1/admin/businesses", json={"slug": "-x-", "name": "x"}, headers=AUTH)
    assert bad.status_code == 400
    unknown_member = await http.post(
        "/v1/admin/businesses", json={"slug": "abc", "name": "x", "owner": "me"}, headers=AUTH
    )
    assert unknown_member.status_code == 400
    assert (await http.get("/v1/admin/businesses/bz_nope", headers=AUTH)).status_code == 404
    await with_number(http, shop["business_id"], "+33123456789")
    other = await made_business(http, "atelier")
    taken = await with_number_status(http, other["business_id"], "33123456789")
    assert taken == 409


async def with_number_status(http: httpx.AsyncClient, business_id: str, display: str) -> int:
    account = await http.post(f"/v1/admin/businesses/{business_id}/accounts", json={}, headers=AUTH)
    body = {"waba_id": account.json()["waba_id"], "display_number": display}
    return (
        await http.post(f"/v1/admin/businesses/{business_id}/numbers", json=body, headers=AUTH)
    ).status_code


async def test_system_tokens_are_shown_once_listed_and_revoked(
    http: httpx.AsyncClient, server: ServerHandle
) -> None:
    shop = await made_business(http)
    base = f"/v1/admin/businesses/{shop['business_id']}/tokens"
    made = await http.post(base, json={"label": "pywa bot"}, headers=AUTH)
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("pbt_")
    listed = (await http.get(base, headers=AUTH)).json()["tokens"]
    assert listed == [
        {"token_id": made.json()["token_id"], "label": "pywa bot", "created_at": made.json()["created_at"]}
    ]
    assert token not in json.dumps(listed)
    assert (await http.delete(f"{base}/{made.json()['token_id']}", headers=AUTH)).status_code == 204
    assert (await http.delete(f"{base}/{made.json()['token_id']}", headers=AUTH)).status_code == 404
    assert "revoked_at" in (await http.get(base, headers=AUTH)).json()["tokens"][0]
    for path in server.database_files():
        assert token.encode() not in path.read_bytes()  # only its hash is stored


@pytest_asyncio.fixture
async def alice(server: ServerHandle, tmp_path: Path) -> AsyncIterator[Client]:
    client = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    yield client
    await client.close()


@pytest_asyncio.fixture
async def marie(server: ServerHandle, tmp_path: Path) -> AsyncIterator[Client]:
    client = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", display_name="Marie", password=PW
    )
    yield client
    await client.close()


async def test_people_on_any_app_find_a_business(
    http: httpx.AsyncClient, alice: Client, marie: Client
) -> None:
    shop = await made_business(http, verified=True)
    await with_number(http, shop["business_id"], "+33 1 23 45 67 89")
    for person in (alice, marie):
        by_address = await person.businesses.find("biz:velo-paris")
        by_number = await person.businesses.find("+33 1 23 45 67 89")
        assert by_address == by_number
        assert by_address.business_id == shop["business_id"] and by_address.verified
        assert by_address.name == "Vélo Paris" and by_address.numbers == ["+33123456789"]
        assert (await person.businesses.get(shop["business_id"])) == by_address
    for unknown in ("biz:nobody-here", "+33 9 99 99 99 99"):
        with pytest.raises(NotFound):
            await alice.businesses.find(unknown)


async def test_consents_are_given_stopped_and_listed_across_apps(
    http: httpx.AsyncClient, alice: Client, marie: Client
) -> None:
    shop = (await made_business(http))["business_id"]
    granted = await alice.businesses.opt_in(shop, "marketing")
    assert (granted.scope, granted.state, granted.source) == ("marketing", "granted", "sdk")
    await alice.businesses.opt_in(shop, "utility")
    assert alice.businesses.is_stop("  Arrêt ! ")
    stopped = await alice.businesses.stop(shop)
    assert (stopped.state, stopped.source) == ("revoked", "keyword")
    mine = await alice.businesses.consents()
    assert [(c.scope, c.state) for c in mine.consents] == [("marketing", "revoked"), ("utility", "granted")]
    assert [(c.scope, c.state) for c in mine.ledger] == [
        ("marketing", "granted"),
        ("utility", "granted"),
        ("marketing", "revoked"),
    ]
    assert (await marie.businesses.consents()).consents == []  # one person's ledger is theirs alone
    exported = (await alice.privacy.export())["business_consents"]
    assert [(c["business_id"], c["scope"], c["state"]) for c in exported["current"]] == [
        (shop, "marketing", "revoked"),
        (shop, "utility", "granted"),
    ]
    assert [c["source"] for c in exported["ledger"]] == ["sdk", "sdk", "keyword"]
    assert (await marie.privacy.export())["business_consents"] == {"current": [], "ledger": []}
    with pytest.raises(NotFound):
        await alice.businesses.opt_in("bz_nope", "marketing")


@pytest.mark.settings(admin_token=ADMIN, limits={"consent_change_burst": 3})
async def test_a_person_cannot_toggle_consents_without_end(http: httpx.AsyncClient, alice: Client) -> None:
    # Each change is a ledger row and may be a webhook in the business's outbox: bounded per person.
    shop = (await made_business(http))["business_id"]
    for _ in range(3):
        await alice.businesses.opt_in(shop, "marketing")
    with pytest.raises(RateLimited):
        await alice.businesses.stop(shop)
    assert len((await alice.businesses.consents()).ledger) == 3


async def test_the_business_cli_drives_the_admin_api(server: ServerHandle) -> None:
    runner = CliRunner()
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_ADMIN_TOKEN": ADMIN}

    async def run(*args: str) -> Any:
        result = await asyncio.to_thread(runner.invoke, cli_app, ["business", *args], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output) if result.output.startswith(("{", "[")) else result.output

    shop = await run("create", "velo-paris", "--name", "Vélo Paris", "--website", "https://velo.example")
    business_id = shop["business_id"]
    account = await run("add-account", business_id, "--name", "main")
    number = await run("add-number", business_id, account["waba_id"], "+33123456789")
    assert number["display_phone_number"] == "+33123456789"
    assert (await run("update", business_id, "--verified"))["verified"] is True
    token = await run("token", "create", business_id, "--label", "bot")
    assert token["token"].startswith("pbt_")
    assert [t["label"] for t in (await run("token", "list", business_id))["tokens"]] == ["bot"]
    assert "revoked" in await run("token", "revoke", business_id, token["token_id"])
    assert [b["slug"] for b in (await run("list"))["businesses"]] == ["velo-paris"]
    refused = await asyncio.to_thread(
        runner.invoke, cli_app, ["business", "list"], env={**env, "PASSERELLE_ADMIN_TOKEN": "wrong"}
    )
    assert refused.exit_code == 1 and "401" in refused.output


@pytest.mark.settings(admin_token=ADMIN, business_stop_words={"en": ("STOP", "QUIT"), "it": ("BASTA",)})
async def test_the_deployment_s_stop_words_are_published_and_matched_by_the_sdk(
    http: httpx.AsyncClient, alice: Client
) -> None:
    published = (await http.get("/v1/apps")).json()["business_stop_words"]
    assert published == {"en": ["STOP", "QUIT"], "it": ["BASTA"]}
    assert alice.businesses.is_stop("Arrêt")  # the defaults until the server's words are read
    assert await alice.businesses.stop_words() == {"en": ["STOP", "QUIT"], "it": ["BASTA"]}
    for text in ("quit", "  Basta! ", "stop"):
        assert await alice.businesses.is_stop_word(text), text
    for text in ("Arrêt", "please quit", "basta cosi"):
        assert not await alice.businesses.is_stop_word(text), text


async def test_the_default_stop_words_are_published(http: httpx.AsyncClient, alice: Client) -> None:
    published = (await http.get("/v1/apps")).json()["business_stop_words"]
    assert published["fr"] == ["ARRET", "STOP", "DESABONNER"] and set(published) == {"en", "fr", "es", "de"}
    assert await alice.businesses.is_stop_word("  Désabonner ")


async def test_a_person_finds_a_business_and_keeps_consents_in_passerelle_chat(
    server: ServerHandle, http: httpx.AsyncClient, alice: Client
) -> None:
    """The operator's CLI sets every profile field; a person's ``passerelle chat`` session (fed on
    its standard input) shows them and changes the person's consents, source ``cli``."""
    runner = CliRunner()
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_ADMIN_TOKEN": ADMIN}
    profile = {
        "--name": "Vélo Paris",
        "--about": "Bikes",
        "--description": "Repairs and rentals",
        "--logo-url": "https://velo.example/logo.png",
        "--website": "https://velo.example",
        "--email": "bonjour@velo.example",
        "--category": "RETAIL",
    }
    args = ["business", "create", "velo-paris", *(x for pair in profile.items() for x in pair), "--verified"]
    made = await asyncio.to_thread(runner.invoke, cli_app, args, env=env)
    assert made.exit_code == 0, made.output
    business_id = json.loads(made.output)["business_id"]
    await with_number(http, business_id, "+33 1 23 45 67 89")
    found = await alice.businesses.find("biz:velo-paris")
    assert (found.description, found.logo_url, found.email, found.category, found.verified) == (
        "Repairs and rentals",
        "https://velo.example/logo.png",
        "bonjour@velo.example",
        "RETAIL",
        True,
    )

    typed = [
        "/business +33 1 23 45 67 89",
        "/optin biz:velo-paris marketing",
        "/optin +33 1 23 45 67 89 utility",
        "/optout biz:velo-paris marketing",
        "/optin biz:velo-paris everything",
        "/optin biz:nobody-here utility",
        "/consents",
    ]
    read, write = os.pipe()
    os.write(write, ("\n".join(typed) + "\n").encode())
    os.close(write)
    screen = io.StringIO()
    console = Console(file=screen, width=200, color_system=None)
    try:
        session = ChatSession(alice, console, StdinLines(read), AppStyles())
        async with asyncio.timeout(20):
            assert await session.run() == 0, screen.getvalue()
    finally:
        os.close(read)
    shown = screen.getvalue()
    assert "Vélo Paris  biz:velo-paris  ✓ verified" in shown and "no endpoint yet" in shown
    assert "website  https://velo.example" in shown and "e-mail   bonjour@velo.example" in shown
    assert "✓ Vélo Paris may send you utility messages" in shown
    assert "✓ Vélo Paris no longer sends you marketing messages" in shown
    assert "usage: /optin ADDRESS SCOPE" in shown and "✗ " in shown  # a bad scope, an unknown business
    assert "Vélo Paris: marketing revoked (cli," in shown and "Vélo Paris: utility granted (cli," in shown
    mine = await alice.businesses.consents()  # the same ledger every app shows
    assert [(c.scope, c.state, c.source) for c in mine.ledger] == [
        ("marketing", "granted", "cli"),
        ("utility", "granted", "cli"),
        ("marketing", "revoked", "cli"),
    ]
