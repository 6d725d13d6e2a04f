"""REST: lookup by address and profiles by account id (docs/protocol.md section 4.8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from passerelle.config import load_settings
from passerelle.domain.ids import AppName
from passerelle.domain.limits import Limits
from tests.integration.rest_harness import Api, Person, rest_api


def features(app: str) -> list[str]:
    """The content features lookups and profiles show for a person of ``app`` (section 11)."""
    found = load_settings().apps.get(AppName(app))
    assert found is not None
    return sorted(found.features)


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with rest_api(tmp_path) as api:
        yield api


async def lookup(api: Api, viewer: Person, address: str) -> tuple[int, bytes]:
    response = await api.http.get("/v1/lookup", params={"address": address}, headers=viewer.auth)
    return response.status_code, response.content


async def profile(api: Api, viewer: Person, account_id: str) -> tuple[int, bytes]:
    response = await api.http.get(f"/v1/accounts/{account_id}", headers=viewer.auth)
    return response.status_code, response.content


@pytest.mark.parametrize(
    ("findability", "photo_finds", "social_finds"),
    [("everyone", True, True), ("app", True, False), ("nobody", False, False)],
)
async def test_findability_matrix(api: Api, findability: str, photo_finds: bool, social_finds: bool) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    marie = await api.social("marie.d")
    await api.set_findability(alice, findability)
    nobody = await lookup(api, bob, "photo:nobody_here")
    assert nobody[0] == 404
    for viewer, finds in ((bob, photo_finds), (marie, social_finds)):
        status, content = await lookup(api, viewer, "photo:Alice")
        if finds:
            assert status == 200
            response = await api.http.get(
                "/v1/lookup", params={"address": "photo:alice"}, headers=viewer.auth
            )
            assert response.json() == {
                "account_id": alice.account_id,
                "app": "photo",
                "display_name": "alice",
                "address": "photo:alice",
                "features": features("photo"),
            }
        else:
            # Hidden and nonexistent: the same answer, byte for byte.
            assert (status, content) == nobody


async def test_a_phone_number_is_never_shown_to_another_app(api: Api) -> None:
    bob = await api.chat("+33612345678")
    carol = await api.chat("+33698765432", "Carol")
    alice = await api.photo("alice")
    response = await api.http.get("/v1/lookup", params={"address": "chat:+33612345678"}, headers=alice.auth)
    assert response.status_code == 200
    assert response.json()["account_id"] == bob.account_id
    assert response.json()["address"] is None
    assert b"+336" not in response.content
    response = await api.http.get(
        "/v1/lookup", params={"address": "chat:+33 6 12 34 56 78"}, headers=carol.auth
    )
    assert response.json()["address"] == "chat:+33612345678"


async def test_lookup_needs_an_address(api: Api) -> None:
    alice = await api.photo("alice")
    response = await api.http.get("/v1/lookup", headers=alice.auth)
    assert response.status_code == 400
    response = await api.http.get("/v1/lookup", params={"address": "alice"}, headers=alice.auth)
    assert response.status_code == 400


async def test_lookups_are_rate_limited(tmp_path: Path) -> None:
    async with rest_api(tmp_path, Limits(lookups_per_minute=2, logins_per_window=100)) as api:
        alice = await api.photo("alice")
        await api.photo("bobby")
        assert (await lookup(api, alice, "photo:bobby"))[0] == 200
        assert (await lookup(api, alice, "photo:nobody"))[0] == 404
        response = await api.http.get("/v1/lookup", params={"address": "photo:bobby"}, headers=alice.auth)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "30"


async def test_the_profile_of_a_visible_account(api: Api) -> None:
    alice = await api.photo("alice")
    marie = await api.social("marie.d", "Marie Dupont")
    response = await api.http.get(f"/v1/accounts/{alice.account_id}", headers=marie.auth)
    assert response.status_code == 200
    assert response.json() == {
        "account_id": alice.account_id,
        "app": "photo",
        "display_name": "alice",
        "address": "photo:alice",
        "features": features("photo"),
    }
    # Everyone sees themselves, whatever their findability (social's default is "app").
    response = await api.http.get(f"/v1/accounts/{marie.account_id}", headers=marie.auth)
    assert response.json() == {
        "account_id": marie.account_id,
        "app": "social",
        "display_name": "Marie Dupont",
        "address": "social:marie.d",
        "features": features("social"),
    }


@pytest.mark.parametrize("findability", ["app", "nobody"])
async def test_a_hidden_profile_is_answered_like_a_missing_one(api: Api, findability: str) -> None:
    alice = await api.photo("alice")
    marie = await api.social("marie.d")
    await api.set_findability(alice, findability)
    missing = await profile(api, marie, "a_nobody")
    assert missing[0] == 404
    assert json.loads(missing[1])["error"]["code"] == "not_found"
    assert await profile(api, marie, alice.account_id) == missing  # byte for byte
    # Someone of her own app still sees her with "app"; nobody does with "nobody".
    bob = await api.photo("bobby")
    status, _ = await profile(api, bob, alice.account_id)
    assert status == (200 if findability == "app" else 404)


async def test_a_profile_never_shows_a_phone_number_to_another_app(api: Api) -> None:
    bob = await api.chat("+33612345678")
    carol = await api.chat("+33698765432", "Carol")
    alice = await api.photo("alice")
    response = await api.http.get(f"/v1/accounts/{bob.account_id}", headers=alice.auth)
    assert response.status_code == 200
    assert response.json() == {
        "account_id": bob.account_id,
        "app": "chat",
        "display_name": "Bob",
        "address": None,
        "features": features("chat"),
    }
    assert b"+336" not in response.content
    response = await api.http.get(f"/v1/accounts/{bob.account_id}", headers=carol.auth)
    assert response.json()["address"] == "chat:+33612345678"


async def test_a_shared_conversation_keeps_a_profile_visible(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    carol = await api.photo("carol")
    await api.open_direct(alice, bob)
    await api.set_findability(bob, "nobody")
    response = await api.http.get(f"/v1/accounts/{bob.account_id}", headers=alice.auth)
    assert response.status_code == 200
    assert response.json()["display_name"] == "bobby"
    assert response.json()["address"] == "photo:bobby"
    # Carol shares nothing with him: to her he is not there at all.
    assert await profile(api, carol, bob.account_id) == await profile(api, carol, "a_nobody")
    assert (await profile(api, carol, bob.account_id))[0] == 404


async def test_a_profile_needs_a_token(api: Api) -> None:
    alice = await api.photo("alice")
    response = await api.http.get(f"/v1/accounts/{alice.account_id}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
