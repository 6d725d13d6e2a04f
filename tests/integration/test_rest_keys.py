"""REST: one-time keys, claims and device lists (docs/protocol.md section 4.7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.integration.rest_harness import Api, Person, rest_api
from tests.unit.service.fakes import TestDevice


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with rest_api(tmp_path) as api:
        yield api


def key_json(
    person: Person, count: int, *, fallback: bool = False, signer: TestDevice | None = None
) -> list[dict[str, str]]:
    keys = (signer or person.device).one_time_keys(count, fallback=fallback)
    return [{"key_id": k.key_id, "key": k.key, "signature": k.signature} for k in keys]


async def upload(api: Api, person: Person, body: dict[str, Any]) -> Any:
    return await api.http.post("/v1/keys", json=body, headers=person.auth)


async def test_upload_and_count(api: Api) -> None:
    alice = await api.photo("alice")
    response = await upload(api, alice, {"one_time_keys": key_json(alice, 5)})
    assert response.status_code == 200, response.text
    assert response.json() == {"otk_count": 5}
    response = await api.http.get("/v1/keys/count", headers=alice.auth)
    assert response.json() == {"otk_count": 5}


async def test_a_bad_signature_rejects_the_upload(api: Api) -> None:
    alice = await api.photo("alice")
    keys = key_json(alice, 3)
    keys[1] = key_json(alice, 1, signer=TestDevice())[0]
    response = await upload(api, alice, {"one_time_keys": keys})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert "one_time_keys[1]" in response.json()["error"]["message"]
    assert (await api.http.get("/v1/keys/count", headers=alice.auth)).json() == {"otk_count": 0}


async def test_claim_each_key_once_then_the_fallback(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    keys = key_json(alice, 2)
    fallback = key_json(alice, 1)[0]
    response = await upload(api, alice, {"one_time_keys": keys, "fallback_key": fallback})
    assert response.status_code == 200
    handed = []
    for _ in range(2):
        response = await api.http.post(
            "/v1/keys/claim", json={"account_id": alice.account_id}, headers=bob.auth
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["account_id"] == alice.account_id
        [device] = body["devices"]
        assert {k: device[k] for k in ("device_id", "name", "curve25519", "ed25519", "signature")} == {
            "device_id": alice.device_id,
            **alice.device.keys_json(),
        }
        assert device["one_time_key"]["fallback"] is False
        handed.append({k: device["one_time_key"][k] for k in ("key_id", "key", "signature")})
    assert sorted(handed, key=lambda k: k["key_id"]) == sorted(keys, key=lambda k: k["key_id"])
    response = await api.http.post("/v1/keys/claim", json={"account_id": alice.account_id}, headers=bob.auth)
    [device] = response.json()["devices"]
    assert device["one_time_key"] == {**fallback, "fallback": True}
    assert api.keys_low.calls[-1] == (alice.device_id, 0)


async def test_a_claim_takes_keys_only_of_the_named_devices(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    await upload(api, alice, {"one_time_keys": key_json(alice, 2)})
    body = {"account_id": alice.account_id, "device_ids": ["dsomeoneelse"]}
    response = await api.http.post("/v1/keys/claim", json=body, headers=bob.auth)
    assert response.status_code == 200, response.text
    [device] = response.json()["devices"]
    assert device["device_id"] == alice.device_id and device["one_time_key"] is None
    assert (await api.http.get("/v1/keys/count", headers=alice.auth)).json() == {"otk_count": 2}
    # Claiming one's own account never spends the calling device's keys.
    own = await api.http.post("/v1/keys/claim", json={"account_id": alice.account_id}, headers=alice.auth)
    assert own.json()["devices"][0]["one_time_key"] is None
    assert (await api.http.get("/v1/keys/count", headers=alice.auth)).json() == {"otk_count": 2}


async def test_claiming_a_hidden_person_is_not_found(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    await upload(api, alice, {"one_time_keys": key_json(alice, 2)})
    await api.set_findability(alice, "nobody")
    hidden = await api.http.post("/v1/keys/claim", json={"account_id": alice.account_id}, headers=bob.auth)
    missing = await api.http.post("/v1/keys/claim", json={"account_id": "a_nobody"}, headers=bob.auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    hidden = await api.http.get(f"/v1/accounts/{alice.account_id}/devices", headers=bob.auth)
    missing = await api.http.get("/v1/accounts/a_nobody/devices", headers=bob.auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert (await api.http.get("/v1/keys/count", headers=alice.auth)).json() == {"otk_count": 2}


async def test_list_the_devices_of_a_visible_account(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    response = await api.http.get(f"/v1/accounts/{alice.account_id}/devices", headers=bob.auth)
    assert response.status_code == 200
    assert response.json() == {
        "account_id": alice.account_id,
        "devices": [{"device_id": alice.device_id, **alice.device.keys_json()}],
    }


async def test_keys_need_a_token(api: Api) -> None:
    response = await api.http.post("/v1/keys", json={"one_time_keys": []})
    assert response.status_code == 401
