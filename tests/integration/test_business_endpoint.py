"""A business's endpoint is a device of the business (docs/business.md section 4): the operator
issues a one-time enrolment token (self-run or hosted), the endpoint enrols with it and signs its
hosting statement, the server refuses a statement whose mode contradicts the enrolment, and a
person's SDK on any app verifies the statement against the endpoint's published key."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from passerelle.crypto import DeviceCrypto
from passerelle.domain.business.hosting import HostingStatement
from passerelle.proto.rest.business import HostingOut
from passerelle.sdk import Client, NotFound, Unauthorized
from tests.conftest import ServerHandle
from tests.integration.test_business import AUTH, PW, made_business

ADMIN = "operator-secret-token-0123456789"
pytestmark = pytest.mark.settings(admin_token=ADMIN, operator_name="Passerelle Demo")


async def enrolment(http: httpx.AsyncClient, business_id: str, mode: str) -> str:
    issued = await http.post(
        f"/v1/admin/businesses/{business_id}/enrolments", json={"mode": mode}, headers=AUTH
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["mode"] == mode and issued.json()["business_id"] == business_id
    return str(issued.json()["token"])


async def test_a_self_run_endpoint_is_verified_by_people_on_every_app(
    server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    shop = await made_business(http)
    token = await enrolment(http, shop["business_id"], "self_run")
    endpoint = await Client.enrol_business_endpoint(server.url, tmp_path / "endpoint", enrolment_token=token)
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    try:
        assert endpoint.app == "biz" and endpoint.address == "biz:velo-paris"
        found = await alice.businesses.find("biz:velo-paris")
        assert found.account_id == endpoint.account_id
        hosting = await alice.businesses.hosting(found)
        assert hosting.verified and hosting.mode == "self_run" and hosting.operator == "Passerelle Demo"
        assert hosting.device_id == endpoint.device_id
        # The business's account is addressable as biz:<slug> like anyone's, from any app.
        contact = await alice.lookup("biz:velo-paris")
        assert contact.account_id == endpoint.account_id
        # A server (or anyone between) that changes the statement is caught: the signature fails.
        shown = found.endpoint
        assert isinstance(shown, HostingOut)
        forged = shown.statement.replace("self_run", "hosted")
        lying = msgspec.structs.replace(
            found, endpoint=msgspec.structs.replace(shown, statement=forged, mode="hosted")
        )
        checked = await alice.businesses.hosting(lying)
        assert not checked.verified and checked.mode is None and "does not verify" in checked.problem
        # The token was used once.
        with pytest.raises(Unauthorized):
            await Client.enrol_business_endpoint(server.url, tmp_path / "again", enrolment_token=token)
    finally:
        await alice.close()
        await endpoint.close()


async def test_a_business_without_endpoint_has_no_hosting(
    server: ServerHandle, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await made_business(http, slug="cafe-lyon")
    marie = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", display_name="Marie", password=PW
    )
    try:
        found = await marie.businesses.find("biz:cafe-lyon")
        assert not found.account_id and not found.endpoint
        with pytest.raises(NotFound):
            await marie.businesses.hosting(found)
    finally:
        await marie.close()


def _device(crypto: DeviceCrypto) -> dict[str, str]:
    return dict(crypto.device_keys("endpoint"))


async def _enrol_raw(http: httpx.AsyncClient, token: str, crypto: DeviceCrypto) -> dict[str, Any]:
    grant = await http.post(
        "/v1/business-endpoints", json={"enrolment_token": token, "device": _device(crypto)}
    )
    assert grant.status_code == 201, grant.text
    return dict(grant.json())


async def test_the_statement_must_say_how_the_endpoint_was_enrolled(http: httpx.AsyncClient) -> None:
    shop = await made_business(http)
    crypto = DeviceCrypto.new(b"k" * 32)
    grant = await _enrol_raw(http, await enrolment(http, shop["business_id"], "self_run"), crypto)
    assert grant["mode"] == "self_run" and grant["operator"] == "Passerelle Demo"
    assert grant["address"] == "biz:velo-paris"
    bearer = {"Authorization": f"Bearer {grant['token']}"}
    base = HostingStatement(
        business=shop["business_id"],
        device=grant["device_id"],
        mode="hosted",
        operator="Passerelle Demo",
        issued_at=int(time.time() * 1000),
    )

    async def put(statement: HostingStatement, signature: str | None = None) -> httpx.Response:
        text = statement.text()
        body = {"statement": text, "signature": signature or crypto.sign(text.encode())}
        return await http.put("/v1/business-endpoint/statement", json=body, headers=bearer)

    contradicting = await put(base)
    assert contradicting.status_code == 403 and "enrolled self_run" in contradicting.text
    right = dataclasses.replace(base, mode="self_run")
    forged = await put(right, signature=crypto.sign(b"something else"))
    assert forged.status_code == 400 and "signature" in forged.text
    other = await put(dataclasses.replace(right, operator="Someone Else"))
    assert other.status_code == 400 and "operator" in other.text
    stale = await put(dataclasses.replace(right, issued_at=right.issued_at - 3600_000))
    assert stale.status_code == 400 and "issued_at" in stale.text
    ok = await put(right)
    assert ok.status_code == 200 and ok.json()["mode"] == "self_run"
    config = (await http.get("/v1/business-endpoint", headers=bearer)).json()
    assert config["business_id"] == shop["business_id"] and config["mode"] == "self_run"
    # A person's device is not an endpoint.
    bad = await http.post(
        "/v1/business-endpoints", json={"enrolment_token": "pbe_nope", "device": _device(crypto)}
    )
    assert bad.status_code == 401


async def test_a_new_endpoint_replaces_the_old_device(server: ServerHandle, http: httpx.AsyncClient) -> None:
    shop = await made_business(http)
    first = await _enrol_raw(
        http, await enrolment(http, shop["business_id"], "self_run"), DeviceCrypto.new(b"a" * 32)
    )
    second = await _enrol_raw(
        http, await enrolment(http, shop["business_id"], "hosted"), DeviceCrypto.new(b"b" * 32)
    )
    assert first["account_id"] == second["account_id"] and second["mode"] == "hosted"
    old = await http.get("/v1/business-endpoint", headers={"Authorization": f"Bearer {first['token']}"})
    assert old.status_code == 401
    bearer = {"Authorization": f"Bearer {second['token']}"}
    devices = (await http.get(f"/v1/accounts/{second['account_id']}/devices", headers=bearer)).json()
    assert [d["device_id"] for d in devices["devices"]] == [second["device_id"]]
    nope = await http.post(
        f"/v1/admin/businesses/{shop['business_id']}/enrolments", json={"mode": "x"}, headers=AUTH
    )
    assert nope.status_code == 400
    assert (
        await http.post("/v1/admin/businesses/bz_nope/enrolments", json={"mode": "hosted"}, headers=AUTH)
    ).status_code == 404
    assert (
        await http.post(f"/v1/admin/businesses/{shop['business_id']}/enrolments", json={"mode": "hosted"})
    ).status_code == 401
