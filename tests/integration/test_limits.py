"""Limits and operations endpoints through the real server: floods get typed errors, not outages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from passerelle.domain.limits import Limits
from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, make_settings
from tests.integration.wire import envelope, register_photo
from tests.unit.service.fakes import TestDevice


async def test_a_send_flood_is_refused_with_retry_after_and_the_connection_stays(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings = replace(settings, limits=replace(Limits(), sends_per_second=1.0, send_burst=3))
    async with running_server(settings, code_sender=CodeInbox()) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            alice = await register_photo(http, "alice", server.fast_ws_url)
            bob = await register_photo(http, "bob", server.fast_ws_url)
            await alice.connect()
            for n in range(6):
                payloads = {bob.device_id: envelope(str(n))}
                await alice.send({"t": "send", "id": f"f{n}", "to": bob.account, "payloads": payloads})
            answers = [await alice.next() for _ in range(6)]
            sent = [a for a in answers if a["t"] == "sent"]
            limited = [a for a in answers if a["t"] == "error"]
            assert len(sent) == 3
            assert len(limited) == 3
            assert all(e["code"] == "rate_limited" and e["retry_after"] > 0 for e in limited)
            assert {e["ref"] for e in limited} == {"f3", "f4", "f5"}
            await alice.send({"t": "ping", "n": 9})
            assert (await alice.next("pong"))["n"] == 9

            metrics = (await http.get("/metrics")).text
            assert "passerelle_messages_accepted_total 3.0" in metrics
            assert 'passerelle_errors_total{code="rate_limited"} 3.0' in metrics
            assert "passerelle_ws_connections 1.0" in metrics
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            await alice.close()


async def test_unknown_paths_and_methods_get_the_error_body(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path), code_sender=CodeInbox()) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            missing = await http.get("/v1/nothing-here")
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "not_found"
            wrong = await http.delete("/v1/apps")
            assert wrong.status_code == 405
            assert wrong.json()["error"]["code"] == "method_not_allowed"


async def login_statuses(tmp_path: Path, trusted_proxies: str) -> list[int]:
    """Three wrong passwords, each forwarded for another client address, with two logins allowed
    per address: their statuses."""
    settings = replace(
        make_settings(tmp_path), limits=Limits(logins_per_window=2), trusted_proxies=trusted_proxies
    )
    async with running_server(settings, code_sender=CodeInbox()) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            statuses = []
            for n in range(3):
                body = {
                    "app": "photo",
                    "handle": f"nobody{n}",  # each its own account budget: the address's is tested
                    "password": "wrong",
                    "device": TestDevice().keys_json(),
                }
                headers = {"X-Forwarded-For": f"203.0.113.{n}"}
                statuses.append((await http.post("/v1/devices", json=body, headers=headers)).status_code)
    return statuses


async def test_rest_limits_count_the_forwarded_client_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    # This host is a trusted proxy by default: each forwarded client has its own budget.
    assert await login_statuses(tmp_path / "trusted", "127.0.0.1,::1") == [401, 401, 401]
    # The proxy is elsewhere: the header is ignored and the peer's one budget runs out.
    assert await login_statuses(tmp_path / "untrusted", "10.0.0.0/8") == [401, 401, 429]
