"""The web apps served by the server (docs/protocol.md section 13): one page per configured app, its
colours as a stylesheet, the shared assets with the right types, under a strict CSP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from passerelle.config import load_settings
from passerelle.server.errors import http_exception_handler
from passerelle.server.web import WebApps, assets_folder


def client(tmp_path: Path, toml: str | None = None) -> httpx.AsyncClient:
    config = None
    if toml is not None:
        config = tmp_path / "apps.toml"
        config.write_text(toml)
    apps = load_settings(config).apps
    app = Starlette(routes=WebApps(apps).routes(), exception_handlers={HTTPException: http_exception_handler})
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://server")


@pytest.mark.parametrize(("name", "title"), [("chat", "Chat"), ("photo", "Photo"), ("social", "Social")])
async def test_each_bundled_app_has_its_page(tmp_path: Path, name: str, title: str) -> None:
    async with client(tmp_path) as http:
        page = await http.get(f"/app/{name}/")
        bare = await http.get(f"/app/{name}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'data-app="{name}"' in page.text
    assert f"<title>{title}</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert bare.status_code == 308 and bare.headers["location"] == f"/app/{name}/"


async def test_the_theme_carries_the_apps_colours(tmp_path: Path) -> None:
    async with client(tmp_path) as http:
        css = await http.get("/app/photo/theme.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "--primary: #c13584;" in css.text and "--accent: #fde2f3;" in css.text


async def test_names_and_colours_from_the_configuration_are_escaped_or_dropped(tmp_path: Path) -> None:
    toml = (
        '[apps.shop]\nidentity = "handle"\ndisplay_name = "<Shop & co>"\n'
        'colors = { primary = "#123456", accent = "red;} body{display:none" }\n'
    )
    async with client(tmp_path, toml) as http:
        page = await http.get("/app/shop/")
        css = await http.get("/app/shop/theme.css")
    assert "<title>&lt;Shop &amp; co&gt;</title>" in page.text
    assert "--primary: #123456;" in css.text
    assert "display:none" not in css.text


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript"),
        ("crypto-worker.js", "text/javascript"),
        ("app.css", "text/css"),
        ("olm.wasm", "application/wasm"),
    ],
)
async def test_assets_are_served_with_their_types(tmp_path: Path, name: str, content_type: str) -> None:
    async with client(tmp_path) as http:
        answer = await http.get(f"/app/chat/assets/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(content_type)
    assert answer.content == assets_folder().joinpath(name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/app/nope/",
        "/app/nope/assets/app.js",
        "/app/chat/assets/index.html",
        "/app/chat/assets/..%2Fconfig.py",
        "/app/chat/assets/missing.js",
        "/app/chat/assets/README.md",
    ],
)
async def test_anything_else_is_not_found(tmp_path: Path, path: str) -> None:
    async with client(tmp_path) as http:
        answer = await http.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_assets_are_compressed_for_browsers_that_accept_gzip(tmp_path: Path) -> None:
    async with client(tmp_path) as http:
        plain = await http.get("/app/chat/assets/app.js", headers={"Accept-Encoding": "identity"})
        packed = await http.get("/app/chat/assets/app.js", headers={"Accept-Encoding": "gzip, br"})
        page = await http.get("/app/social/", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.content == plain.content  # httpx decompresses
    assert 'data-app="social"' in page.text
