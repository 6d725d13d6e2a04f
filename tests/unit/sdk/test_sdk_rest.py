"""RestApi against a fake HTTP layer: typed answers, error codes to exceptions, re-login on 401."""

from __future__ import annotations

import json

import httpx
import pytest

from passerelle.sdk.errors import (
    AliasTaken,
    NotFound,
    ProtocolViolation,
    RateLimited,
    SdkError,
    StaleDevices,
    Unauthorized,
    Unavailable,
    error_from_code,
)
from passerelle.sdk.rest import RestApi


def error(status: int, code: str, **extra: object) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "nope", **extra}})


def api(handler: httpx.MockTransport, token: str | None = "t1") -> RestApi:
    return RestApi("http://server/", token=token, http=httpx.AsyncClient(transport=handler))


async def test_answers_are_typed_and_tokens_go_in_the_header() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"account_id": "a", "app": "photo", "display_name": "Al", "address": None, "x": 1}
        )

    rest = api(httpx.MockTransport(handle))
    found = await rest.lookup("photo:al")
    assert found.account_id == "a"
    assert found.address is None
    assert seen[0].url.path == "/v1/lookup"
    assert seen[0].url.params["address"] == "photo:al"
    assert seen[0].headers["authorization"] == "Bearer t1"
    assert "t1" not in str(seen[0].url)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (error(409, "alias_taken"), AliasTaken),
        (error(404, "not_found"), NotFound),
        (error(503, "unavailable"), Unavailable),
        (httpx.Response(502, text="bad gateway"), Unavailable),
        (error(418, "brand_new_code"), SdkError),
    ],
)
async def test_error_codes_become_exceptions(response: httpx.Response, kind: type[SdkError]) -> None:
    rest = api(httpx.MockTransport(lambda request: response))
    with pytest.raises(kind) as caught:
        await rest.register({"app": "photo"})
    assert type(caught.value) is kind


async def test_rate_limited_carries_retry_after() -> None:
    rest = api(httpx.MockTransport(lambda request: error(429, "rate_limited", retry_after=7)))
    with pytest.raises(RateLimited) as caught:
        await rest.claim("a")
    assert caught.value.retry_after == 7


async def test_unauthorized_triggers_one_relogin_and_a_retry() -> None:
    tokens: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer old":
            return error(401, "unauthorized")
        return httpx.Response(200, json={"otk_count": 5})

    rest = api(httpx.MockTransport(handle), token="old")
    logins = 0

    async def relogin() -> str:
        nonlocal logins
        logins += 1
        return "new"

    rest.relogin = relogin
    assert await rest.upload_keys([]) == 5
    assert tokens == ["Bearer old", "Bearer new"]
    assert logins == 1


async def test_a_refused_relogin_is_unauthorized() -> None:
    rest = api(httpx.MockTransport(lambda request: error(401, "unauthorized")), token="old")

    async def relogin() -> str:
        return "still bad"

    rest.relogin = relogin
    with pytest.raises(Unauthorized):
        await rest.me()


async def test_network_failure_is_unavailable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unavailable):
        await api(httpx.MockTransport(handle)).me()


async def test_bodies_are_json() -> None:
    bodies: list[object] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"conv": "d_x", "kind": "direct", "members": ["a", "b"], "timer": 0})

    info = await api(httpx.MockTransport(handle)).open_direct("b")
    assert info.conv == "d_x"
    assert bodies == [{"with": "b"}]


def test_error_table() -> None:
    stale = error_from_code("stale_devices", "m", missing=["d1"], extra=["d2"])
    assert isinstance(stale, StaleDevices)
    assert (stale.missing, stale.extra) == (["d1"], ["d2"])
    assert isinstance(error_from_code("bad_frame", "m"), ProtocolViolation)
    assert error_from_code("bad_frame", "m").code == "bad_frame"
    assert isinstance(error_from_code("alias_taken", "m"), AliasTaken)
