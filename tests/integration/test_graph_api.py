"""The Graph-style Business API through the real server (docs/business.md section 6): optional
version prefix, system-user bearer tokens (190), the Graph error envelope, the phone-number object
and the business profile; other paths are untouched."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ADMIN = "operator-secret-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
pytestmark = pytest.mark.settings(admin_token=ADMIN)


async def business_with_number(http: httpx.AsyncClient, slug: str, display: str) -> dict[str, Any]:
    shop = await http.post(
        "/v1/admin/businesses",
        json={"slug": slug, "name": f"Shop {slug}", "about": "Bikes", "website": "https://velo.example"},
        headers=AUTH,
    )
    business_id = shop.json()["business_id"]
    account = await http.post(f"/v1/admin/businesses/{business_id}/accounts", json={}, headers=AUTH)
    number = await http.post(
        f"/v1/admin/businesses/{business_id}/numbers",
        json={"waba_id": account.json()["waba_id"], "display_number": display},
        headers=AUTH,
    )
    token = await http.post(f"/v1/admin/businesses/{business_id}/tokens", json={"label": "bot"}, headers=AUTH)
    return {
        "business_id": business_id,
        "phone_number_id": number.json()["phone_number_id"],
        "token": token.json()["token"],
        "token_id": token.json()["token_id"],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graph_error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert error["message"].startswith(f"(#{error['code']})")
    return dict(error)


async def test_the_phone_number_object_with_or_without_a_version(http: httpx.AsyncClient) -> None:
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    pnid = shop["phone_number_id"]
    for path in (f"/v26.0/{pnid}", f"/v17.0/{pnid}", f"/{pnid}"):
        response = await http.get(path, headers=bearer(shop["token"]), params={"fields": "quality_rating"})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": pnid,
            "display_phone_number": "+33123456789",
            "verified_name": "Shop velo-paris",
            "quality_rating": "UNKNOWN",
            "messaging_limit_tier": "TIER_250",
            "code_verification_status": "VERIFIED",
            "name_status": "APPROVED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }


async def test_bad_tokens_get_190(http: httpx.AsyncClient) -> None:
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    path = f"/v26.0/{shop['phone_number_id']}"
    for headers in ({}, bearer("pbt_not-a-token"), bearer("nonsense"), {"Authorization": "Basic abc"}):
        response = await http.get(path, headers=headers)
        assert response.status_code == 401
        assert graph_error(response)["code"] == 190
    await http.delete(f"/v1/admin/businesses/{shop['business_id']}/tokens/{shop['token_id']}", headers=AUTH)
    revoked = await http.get(path, headers=bearer(shop["token"]))
    assert revoked.status_code == 401 and graph_error(revoked)["code"] == 190


async def test_an_oversized_body_is_refused_in_the_graph_envelope(http: httpx.AsyncClient) -> None:
    # The server's body limit holds on Graph paths too, and a Cloud API bot gets a Graph error it can
    # parse (the people's API keeps its own envelope).
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    big = {"messaging_product": "whatsapp", "about": "x" * 200_000}
    for path in (
        f"/v26.0/{shop['phone_number_id']}/whatsapp_business_profile",
        f"/{shop['phone_number_id']}/messages",
    ):
        response = await http.post(path, json=big, headers=bearer(shop["token"]))
        assert response.status_code == 413
        error = graph_error(response)
        assert error["code"] == 100 and "limited to" in error["error_data"]["details"]
    people = await http.post("/v1/admin/businesses", json={"name": "x" * 200_000}, headers=AUTH)
    assert people.status_code == 413 and people.json()["error"]["code"] == "too_large"


async def test_another_business_s_number_is_as_unknown_as_a_missing_one(http: httpx.AsyncClient) -> None:
    mine = await business_with_number(http, "velo-paris", "+33123456789")
    theirs = await business_with_number(http, "atelier", "+33987654321")
    other = await http.get(f"/v26.0/{theirs['phone_number_id']}", headers=bearer(mine["token"]))
    missing = await http.get("/v26.0/123456789012345", headers=bearer(mine["token"]))
    for response in (other, missing):
        assert response.status_code == 400
        error = graph_error(response)
        assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
    assert other.json()["error"]["error_data"]["details"].replace(
        theirs["phone_number_id"], "X"
    ) == missing.json()["error"]["error_data"]["details"].replace("123456789012345", "X")


async def test_unknown_edges_and_methods_are_graph_errors(http: httpx.AsyncClient) -> None:
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    edge = await http.get(f"/v26.0/{shop['phone_number_id']}/no_such_edge", headers=bearer(shop["token"]))
    assert edge.status_code == 400 and graph_error(edge)["code"] == 100
    method = await http.delete(f"/v26.0/{shop['phone_number_id']}", headers=bearer(shop["token"]))
    assert method.status_code == 400 and graph_error(method)["code"] == 100


async def test_the_business_profile_reads_and_changes(http: httpx.AsyncClient) -> None:
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    path = f"/v26.0/{shop['phone_number_id']}/whatsapp_business_profile"
    auth = bearer(shop["token"])
    first = await http.get(path, headers=auth)
    assert first.status_code == 200
    assert first.json() == {
        "data": [
            {
                "about": "Bikes",
                "description": "",
                "email": "",
                "websites": ["https://velo.example"],
                "vertical": "UNDEFINED",
                "messaging_product": "whatsapp",
            }
        ]
    }
    change = {
        "messaging_product": "whatsapp",
        "about": "Bikes and repairs",
        "vertical": "RETAIL",
        "email": None,
        "some_new_member": {"x": 1},
    }
    updated = await http.post(path, json=change, headers=auth)
    assert updated.status_code == 200 and updated.json() == {"success": True}
    data = (await http.get(path, headers=auth)).json()["data"][0]
    assert (data["about"], data["vertical"], data["email"]) == ("Bikes and repairs", "RETAIL", "")
    found = (await http.get(f"/v1/admin/businesses/{shop['business_id']}", headers=AUTH)).json()
    assert found["about"] == "Bikes and repairs" and found["category"] == "RETAIL"
    too_long = await http.post(path, json={"about": "x" * 140}, headers=auth)
    assert too_long.status_code == 400
    error = graph_error(too_long)
    assert error["code"] == 100 and "about" in error["message"]
    not_json = await http.post(path, content=b"{", headers=auth)
    assert not_json.status_code == 400 and graph_error(not_json)["code"] == 100


async def test_passerelle_paths_are_untouched(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    unknown = await http.get("/v1/no-such-thing")
    assert unknown.status_code == 404 and "error" in unknown.json()
    assert "fbtrace_id" not in unknown.text
    assert (await http.get("/v1.0")).status_code == 404


async def test_block_users_answers_in_the_cloud_api_shapes(http: httpx.AsyncClient) -> None:
    shop = await business_with_number(http, "velo-paris", "+33123456789")
    path = f"/v26.0/{shop['phone_number_id']}/block_users"
    auth = bearer(shop["token"])
    assert (await http.get(path, headers=auth)).json() == {"data": [], "paging": {"cursors": {}}}
    body = {"messaging_product": "whatsapp", "block_users": [{"user": "+1 555-123-4567"}]}
    response = await http.post(path, json=body, headers=auth)
    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["block_users"]["added_users"] == []
    failed = answer["block_users"]["failed_users"]
    assert failed[0]["input"] == "+1 555-123-4567" and failed[0]["errors"][0]["code"] == 139100
    removed = await http.request(
        "DELETE", path, json={**body, "block_users": [{"user_id": "ZZ.1"}]}, headers=auth
    )
    assert removed.status_code == 200 and removed.json()["block_users"]["removed_users"] == []
    bad = await http.post(path, json={"messaging_product": "whatsapp", "block_users": [{}]}, headers=auth)
    assert bad.status_code == 400
    assert graph_error(bad)["message"] == "(#100) Param block_users[0].user must be a wa_id (or give user_id)"
    too_many = {"messaging_product": "whatsapp", "block_users": [{"user": "1"}] * 1001}
    refused = await http.post(path, json=too_many, headers=auth)
    assert refused.status_code == 400 and "block_users" in graph_error(refused)["message"]
    assert (await http.get(path)).status_code == 401
