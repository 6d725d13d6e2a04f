"""CORS for third-party browser clients (docs/protocol.md section 13): the allowed origins of every
app's configuration, preflights answered in the middleware, other origins left without CORS headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passerelle.config import load_settings
from passerelle.server.app import create_app
from passerelle.server.cors import Cors

SITE = "https://shop.example"


async def hello(request: Request) -> Response:
    return JSONResponse({"hello": "world"}, headers={"Retry-After": "3"})


def client(origins: list[str]) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/v1/thing", hello, methods=["GET", "POST"])])
    app.add_middleware(Cors, origins=origins)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://server")


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered() -> None:
    async with client([SITE]) as http:
        answer = await http.options("/v1/thing", headers=preflight(SITE))
    assert answer.status_code == 204
    assert answer.content == b""
    assert answer.headers["access-control-allow-origin"] == SITE
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"authorization", "content-type"}
    assert answer.headers["vary"] == "Origin"
    assert int(answer.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_preflight_from_another_origin_is_forbidden() -> None:
    async with client([SITE]) as http:
        answer = await http.options("/v1/thing", headers=preflight("https://evil.example"))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert "access-control-allow-origin" not in answer.headers


async def test_a_request_from_an_allowed_origin_can_be_read_by_the_page() -> None:
    async with client([SITE]) as http:
        answer = await http.get("/v1/thing", headers={"Origin": SITE})
    assert answer.json() == {"hello": "world"}
    assert answer.headers["access-control-allow-origin"] == SITE
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    assert answer.headers["vary"] == "Origin"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_other_requests_pass_untouched(headers: dict[str, str]) -> None:
    async with client([SITE]) as http:
        answer = await http.get("/v1/thing", headers=headers)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


async def test_a_star_allows_any_origin_and_no_origins_turn_cors_off() -> None:
    async with client(["*"]) as http:
        answer = await http.options("/v1/thing", headers=preflight("http://localhost:5173", "PATCH"))
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    async with client([]) as http:
        answer = await http.options("/v1/thing", headers=preflight(SITE))
        assert answer.status_code == 405  # no CORS configured: the route answers, as before


def test_origins_come_from_each_apps_configuration(tmp_path: Path) -> None:
    config = tmp_path / "apps.toml"
    config.write_text(
        '[apps.photo]\nidentity = "handle"\nallowed_origins = ["https://shop.example"]\n'
        '[apps.social]\nidentity = "profile"\nallowed_origins = ["http://localhost:8080"]\n'
        '[apps.chat]\nidentity = "phone"\n'
    )
    settings = load_settings(config)
    assert settings.apps.allowed_origins == {"https://shop.example", "http://localhost:8080"}
    chat = settings.apps.get("chat")
    assert chat is not None and chat.allowed_origins == ()


@pytest.mark.parametrize(
    "origin", ["https://shop.example/", "shop.example", "https://a.example/path", "ftp://x"]
)
def test_an_origin_with_a_path_or_no_scheme_is_refused(tmp_path: Path, origin: str) -> None:
    config = tmp_path / "apps.toml"
    config.write_text(f'[apps.photo]\nidentity = "handle"\nallowed_origins = ["{origin}"]\n')
    with pytest.raises(ValueError, match="is not an origin"):
        load_settings(config)


async def test_the_server_answers_preflights_for_configured_origins(tmp_path: Path) -> None:
    config = tmp_path / "apps.toml"
    config.write_text('[apps.photo]\nidentity = "handle"\nallowed_origins = ["https://shop.example"]\n')
    app = create_app(load_settings(config, data_dir=tmp_path / "data"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as http:
        answer = await http.options("/v1/accounts", headers=preflight(SITE))
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SITE
