"""REST: registering, codes, adding and removing devices, challenge login, tokens, me and settings
(docs/protocol.md sections 4.1 to 4.6), through the real ASGI app on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from passerelle.domain.limits import Limits
from tests.integration.rest_harness import PASSWORD, Api, Person, rest_api
from tests.unit.service.fakes import TestDevice

PHONE = "+33612345678"


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with rest_api(tmp_path) as api:
        yield api


def error(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_apps_are_listed(api: Api) -> None:
    response = await api.http.get("/v1/apps")
    assert response.status_code == 200
    apps = {a["name"]: a for a in response.json()["apps"]}
    assert {n: a["identity"] for n, a in apps.items()} == {
        "chat": "phone",
        "photo": "handle",
        "social": "profile",
    }
    assert "text" in apps["chat"]["features"]
    assert apps["photo"]["colors"]["primary"].startswith("#")


async def test_register_on_each_app(api: Api) -> None:
    bob = await api.chat("+33 6 12 34 56 78")
    alice = await api.photo("Alice")
    marie = await api.social("marie.d")
    assert (bob.address, alice.address, marie.address) == (
        "chat:+33612345678",
        "photo:alice",
        "social:marie.d",
    )
    for person in (bob, alice, marie):
        me = await api.http.get("/v1/me", headers=person.auth)
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["account_id"] == person.account_id
        assert body["device_id"] == person.device_id
        assert body["address"] == person.address
        assert body["devices"] == [{"device_id": person.device_id, **person.device.keys_json()}]
    me = (await api.http.get("/v1/me", headers=marie.auth)).json()
    assert me["app"] == "social"
    assert me["display_name"] == "Marie Dupont"
    assert me["settings"] == {"findability": "app", "read_receipts": True}


async def test_register_answers_the_documented_members(api: Api) -> None:
    device = TestDevice()
    body = {"app": "photo", "handle": "alice", "password": PASSWORD, "device": device.keys_json()}
    response = await api.http.post("/v1/accounts", json=body)
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"account_id", "device_id", "token", "expires_at", "address"}
    assert data["expires_at"] == api.clock.ms + api.limits.token_ttl_s * 1000


async def test_alias_taken(api: Api) -> None:
    await api.photo("alice")
    body = {"app": "photo", "handle": "ALICE", "password": PASSWORD, "device": TestDevice().keys_json()}
    response = await api.http.post("/v1/accounts", json=body)
    assert response.status_code == 409
    assert error(response) == "alias_taken"


async def test_identity_fields_must_match_the_app(api: Api) -> None:
    body = {"app": "photo", "username": "alice", "password": PASSWORD, "device": TestDevice().keys_json()}
    response = await api.http.post("/v1/accounts", json=body)
    assert response.status_code == 400
    assert "handle and password" in response.json()["error"]["message"]


@pytest.mark.parametrize("phone", ["0612345678", "+3361234", "not a number"])
async def test_bad_phone_numbers(api: Api, phone: str) -> None:
    response = await api.http.post("/v1/codes", json={"app": "chat", "phone": phone})
    assert response.status_code == 400
    assert error(response) == "invalid_input"
    assert api.phone.sent == 0


async def test_codes_only_for_phone_apps(api: Api) -> None:
    response = await api.http.post("/v1/codes", json={"app": "photo", "phone": PHONE})
    assert response.status_code == 400
    assert "phone numbers" in response.json()["error"]["message"]


async def _register_with_code(api: Api, code: str) -> Any:
    body = {
        "app": "chat",
        "phone": PHONE,
        "code": code,
        "display_name": "Bob",
        "device": TestDevice().keys_json(),
    }
    return await api.http.post("/v1/accounts", json=body)


async def test_a_code_expires(api: Api) -> None:
    response = await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})
    assert response.status_code == 202
    assert response.json() == {"expires_in": api.limits.code_ttl_s}
    api.clock.advance(api.limits.code_ttl_s + 1)
    response = await _register_with_code(api, api.phone.code("chat", PHONE))
    assert response.status_code == 401
    assert error(response) == "unauthorized"


async def test_code_attempts_run_out(api: Api) -> None:
    await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})
    right = api.phone.code("chat", PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(api.limits.code_attempts):
        assert (await _register_with_code(api, wrong)).status_code == 401
    assert (await _register_with_code(api, right)).status_code == 401


async def test_code_requests_are_rate_limited(tmp_path: Path) -> None:
    async with rest_api(tmp_path, Limits(codes_per_phone=3)) as api:
        for _ in range(3):
            assert (await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})).status_code == 202
        response = await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})
        assert response.status_code == 429
        body = response.json()["error"]
        assert body["code"] == "rate_limited"
        assert body["retry_after"] == 200  # 3 per 600 s: the next one in 200 s
        assert response.headers["retry-after"] == "200"
        assert api.phone.sent == 3


async def test_wrong_password_and_unknown_handle_answer_the_same(api: Api) -> None:
    await api.photo("alice")
    answers = []
    for handle, password in (("alice", "not the password"), ("nobody", PASSWORD)):
        body = {"app": "photo", "handle": handle, "password": password, "device": TestDevice().keys_json()}
        response = await api.http.post("/v1/devices", json=body)
        assert response.status_code == 401
        answers.append((response.status_code, response.content, response.headers["www-authenticate"]))
    assert answers[0] == answers[1]


async def test_a_bad_device_signature_is_refused(api: Api) -> None:
    device = TestDevice()
    keys = {**device.keys_json(), "signature": TestDevice().keys_json()["signature"]}
    body = {"app": "photo", "handle": "alice", "password": PASSWORD, "device": keys}
    response = await api.http.post("/v1/accounts", json=body)
    assert response.status_code == 400
    assert error(response) == "invalid_input"
    assert "signature" in response.json()["error"]["message"]


async def test_add_a_device_with_a_code(api: Api) -> None:
    bob = await api.chat(PHONE)
    await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE})
    laptop = TestDevice("Bob's laptop")
    body = {
        "app": "chat",
        "phone": PHONE,
        "code": api.phone.code("chat", PHONE),
        "device": laptop.keys_json(),
    }
    response = await api.http.post("/v1/devices", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["account_id"] == bob.account_id
    assert api.notices.added == [(bob.account_id, data["device_id"])]
    me = (await api.http.get("/v1/me", headers={"Authorization": f"Bearer {data['token']}"})).json()
    assert {d["device_id"] for d in me["devices"]} == {bob.device_id, data["device_id"]}


async def test_add_a_device_with_a_password(api: Api) -> None:
    alice = await api.photo("alice")
    body = {"app": "photo", "handle": "alice", "password": PASSWORD, "device": TestDevice().keys_json()}
    response = await api.http.post("/v1/devices", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["account_id"] == alice.account_id
    assert len(api.notices.added) == 1


async def _token(api: Api, person: Person, *, signer: TestDevice | None = None) -> Any:
    response = await api.http.post("/v1/auth/challenge", json={"device_id": person.device_id})
    assert response.status_code == 200
    challenge = response.json()["challenge"]
    signature = (signer or person.device).login_signature(person.device_id, challenge)
    body = {"device_id": person.device_id, "challenge": challenge, "signature": signature}
    return body, await api.http.post("/v1/auth/token", json=body)


async def test_challenge_login(api: Api) -> None:
    alice = await api.photo("alice")
    body, response = await _token(api, alice)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token != alice.token
    assert response.json()["expires_at"] == api.clock.ms + api.limits.token_ttl_s * 1000
    me = await api.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["device_id"] == alice.device_id
    replay = await api.http.post("/v1/auth/token", json=body)
    assert replay.status_code == 401


async def test_challenge_login_with_a_bad_signature(api: Api) -> None:
    alice = await api.photo("alice")
    _, response = await _token(api, alice, signer=TestDevice())
    assert response.status_code == 401
    assert error(response) == "unauthorized"


async def test_an_unknown_device_gets_a_challenge(api: Api) -> None:
    response = await api.http.post("/v1/auth/challenge", json={"device_id": "dnosuchdevice"})
    assert response.status_code == 200
    assert response.json()["expires_in"] == api.limits.challenge_ttl_s


async def test_an_expired_token_is_refused(api: Api) -> None:
    alice = await api.photo("alice")
    api.clock.advance(api.limits.token_ttl_s + 1)
    response = await api.http.get("/v1/me", headers=alice.auth)
    assert response.status_code == 401
    assert error(response) == "unauthorized"


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-token"])
async def test_missing_or_wrong_tokens(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await api.http.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_remove_a_device(api: Api) -> None:
    alice = await api.photo("alice")
    body = {"app": "photo", "handle": "alice", "password": PASSWORD, "device": TestDevice().keys_json()}
    laptop = (await api.http.post("/v1/devices", json=body)).json()
    laptop_auth = {"Authorization": f"Bearer {laptop['token']}"}
    assert (await api.http.get("/v1/me", headers=laptop_auth)).status_code == 200
    response = await api.http.delete(f"/v1/devices/{laptop['device_id']}", headers=alice.auth)
    assert response.status_code == 204
    assert response.content == b""
    assert (await api.http.get("/v1/me", headers=laptop_auth)).status_code == 401
    assert api.notices.removed == [(alice.account_id, laptop["device_id"])]
    me = (await api.http.get("/v1/me", headers=alice.auth)).json()
    assert [d["device_id"] for d in me["devices"]] == [alice.device_id]


async def test_removing_another_accounts_device_is_not_found(api: Api) -> None:
    alice = await api.photo("alice")
    bob = await api.photo("bobby")
    other = await api.http.delete(f"/v1/devices/{bob.device_id}", headers=alice.auth)
    missing = await api.http.delete("/v1/devices/dnosuchdevice", headers=alice.auth)
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert (await api.http.get("/v1/me", headers=bob.auth)).status_code == 200


async def test_settings(api: Api) -> None:
    alice = await api.photo("alice")
    response = await api.http.patch("/v1/me/settings", json={"read_receipts": False}, headers=alice.auth)
    assert response.json() == {"findability": "everyone", "read_receipts": False}
    response = await api.http.patch("/v1/me/settings", json={"findability": "nobody"}, headers=alice.auth)
    assert response.json() == {"findability": "nobody", "read_receipts": False}
    bad = await api.http.patch("/v1/me/settings", json={"findability": "friends"}, headers=alice.auth)
    assert bad.status_code == 400
    assert "findability" in bad.json()["error"]["message"]


# --- malformed requests --------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{not json", b"", b"[]", b'"text"', b"\xff\xfe"])
async def test_malformed_json_is_invalid_input(api: Api, content: bytes) -> None:
    response = await api.http.post("/v1/codes", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error(response) == "invalid_input"


async def test_unknown_members_are_refused(api: Api) -> None:
    response = await api.http.post("/v1/codes", json={"app": "chat", "phone": PHONE, "admin": True})
    assert response.status_code == 400
    assert "admin" in response.json()["error"]["message"]


async def test_wrong_types_say_where(api: Api) -> None:
    body = {
        "app": "photo",
        "handle": "alice",
        "password": PASSWORD,
        "device": {**TestDevice().keys_json(), "name": 7},
    }
    response = await api.http.post("/v1/accounts", json=body)
    assert response.status_code == 400
    assert "$.device.name" in response.json()["error"]["message"]


async def test_an_oversize_body_is_refused(api: Api) -> None:
    big = {"app": "chat", "phone": PHONE, "padding": "x" * api.limits.max_body_bytes}
    response = await api.http.post("/v1/codes", json=big)
    assert response.status_code == 413
    assert error(response) == "too_large"
    assert api.phone.sent == 0


async def test_an_oversize_streamed_body_is_refused(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(api.limits.max_body_bytes // 1024 + 1):
            yield b" " * 1024

    response = await api.http.post("/v1/codes", content=chunks())
    assert response.status_code == 413
    assert error(response) == "too_large"


async def test_unknown_paths_and_methods_use_the_error_body(api: Api) -> None:
    response = await api.http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert error(response) == "not_found"
    response = await api.http.get("/v1/accounts")
    assert response.status_code == 405
    assert error(response) == "method_not_allowed"
