"""A third party's page, from another origin, calls the API from a real browser (docs/protocol.md
section 13.2): allowed when its origin is in an app's ``allowed_origins`` (preflight included),
withheld from the page otherwise."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from passerelle.config import load_settings
from passerelle.server.runner import RunningServer, running_server

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CONFIG = """
[apps.photo]
display_name = "Photo"
identity = "handle"
features = ["text"]
allowed_origins = ["{allowed}"]
"""
PROBE = """async (base) => {
  const out = {};
  try {
    const apps = await (await fetch(base + "/v1/apps")).json();
    out.apps = apps.apps.map((a) => a.name);
  } catch (err) { out.apps = String(err); }
  try {
    const resp = await fetch(base + "/v1/auth/challenge", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({device_id: "d_x"}),
    });
    out.challenge = resp.status;
  } catch (err) { out.challenge = String(err); }
  return out;
}"""


class _ShopPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>a shop</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def shops() -> Iterator[tuple[str, str]]:
    """Two third-party sites on this machine: one allowed (localhost), one not (127.0.0.1)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _ShopPage) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield (f"http://localhost:{servers[0].server_port}", f"http://127.0.0.1:{servers[1].server_port}")
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


@pytest_asyncio.fixture
async def server_with_cors(tmp_path: Path, shops: tuple[str, str]) -> AsyncIterator[RunningServer]:
    config = tmp_path / "apps.toml"
    config.write_text(CONFIG.format(allowed=shops[0]))
    settings = load_settings(config, data_dir=tmp_path / "data", janitor_interval_s=3600.0)
    async with running_server(settings) as running:
        yield running


async def page_at(browser: Browser, origin: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{origin}/")
    return page


async def test_an_allowed_origin_reads_the_api_and_another_does_not(
    browser: Browser, server_with_cors: RunningServer, shops: tuple[str, str]
) -> None:
    allowed = await page_at(browser, shops[0])
    got = await allowed.evaluate(PROBE, server_with_cors.url)
    assert got == {"apps": ["photo"], "challenge": 200}  # the POST needed a preflight, answered

    other = await page_at(browser, shops[1])
    refused = await other.evaluate(PROBE, server_with_cors.url)
    assert "Failed to fetch" in refused["apps"] and "Failed to fetch" in refused["challenge"]
