"""Scenario (f), logins: how many devices per second can log in with their key and be online, and
the server's CPU for each.

One login is what a returning device does (docs/protocol.md sections 4.5 and 5): ``POST
/v1/auth/challenge``, an Ed25519 signature over the challenge, ``POST /v1/auth/token``, then a
WebSocket, ``hello`` with the new token and ``welcome`` back; the bench then closes the WebSocket
(its close is part of the CPU measured). ``login_concurrency`` devices (phone app accounts,
registered first) log in over and over, each one login at a time over a kept-alive HTTP connection,
until ``logins`` logins are done. Latency is one login from the challenge request to ``welcome``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from time import perf_counter_ns

import httpx

from passerelle.cli.bench.accounting import NO_MESSAGES
from passerelle.cli.bench.client import Recorder, connect
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
from passerelle.cli.bench.identity import JSON, BenchAccount, b64, canonical_json
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.server import bench_server
from passerelle.cli.bench.world import Meter, interval
from passerelle.proto.rest import accounts as wire
from passerelle.proto.rest.base import decode, encode

KEEPALIVE_S = 2.0
"""How long the bench keeps an idle HTTP connection: well under the server's 5 s."""


async def log_in(http: httpx.AsyncClient, account: BenchAccount) -> str | None:
    """A fresh token for ``account``'s device (challenge, signature, token), or None (counted by the
    caller) when the server refuses."""
    assert account.signing is not None
    device = account.device_id
    asked = await http.post(
        "/v1/auth/challenge", content=encode(wire.ChallengeRequest(device_id=device)), headers=JSON
    )
    if asked.status_code != 200:
        return None
    challenge = decode(asked.content, wire.Challenge).challenge
    signed = {"challenge": challenge, "device_id": device, "purpose": "passerelle-login"}
    signature = b64(account.signing.sign(canonical_json(signed)))
    request = wire.TokenRequest(device_id=device, challenge=challenge, signature=signature)
    answer = await http.post("/v1/auth/token", content=encode(request), headers=JSON)
    if answer.status_code != 200:
        return None
    return decode(answer.content, wire.DeviceGrant).token


async def run_logins(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    workers = min(options.login_concurrency, options.logins)
    label = "[f] logins"
    async with CodeGateway().running() as codes, bench_server(options, codes) as server:
        reporter.say(f"{label}: server pid {server.pid} ready; registering {workers} accounts")
        accounts = await register_phones(server.url, codes, workers)
        rec = Recorder()
        done = [0]
        next_login = [0]

        async def worker(http: httpx.AsyncClient, account: BenchAccount) -> None:
            while next_login[0] < options.logins:
                next_login[0] += 1
                start = perf_counter_ns()
                try:
                    token = await log_in(http, account)
                except httpx.HTTPError as exc:
                    rec.error(f"login_{type(exc).__name__}")
                    continue
                if token is None:
                    rec.error("login_refused")
                    continue
                try:
                    socket = await connect(
                        server.ws_url,
                        dataclasses.replace(account, token=token),
                        rec,
                        ack_batch=options.ack_batch,
                    )
                except BenchError:
                    rec.error("login_ws_refused")
                    continue
                now = perf_counter_ns()
                rec.latencies_ns.append(now - start)
                rec.count_in_bin(now, 1)
                rec.delivered += 1
                done[0] += 1
                await socket.close()

        # uvicorn closes a kept-alive connection after 5 s idle, httpx after 5 s too: a request sent
        # on one just as the server closes it fails (a ReadError, seen under load, where a login's
        # WebSocket part can take seconds). Dropping idle connections first avoids that race.
        limits = httpx.Limits(
            max_connections=workers, max_keepalive_connections=workers, keepalive_expiry=KEEPALIVE_S
        )
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0, limits=limits) as http:
            meter = Meter(server.pid)
            rec.start()
            await meter.begin()
            async with (
                reporter.track("logins", options.logins, lambda: done[0]),
                asyncio.TaskGroup() as group,
            ):
                for account in accounts:
                    group.create_task(worker(http, account))
            reading = await meter.end()
            rec.stop()
    counts = dataclasses.replace(NO_MESSAGES, errors=dict(rec.errors))
    extra = {"logins": options.logins, "concurrency": workers}
    measured = interval(reading, rec, extra, counts=counts)
    figures = compute(measured, name="f", title=SCENARIO_TITLES["f"], unit="login")
    if figures.ok:
        reporter.say(
            f"{label}: {figures.units} logins, {figures.per_s or 0:,.0f}/s, "
            f"{figures.cpu_us_per_unit or 0:,.0f} µs of server CPU each"
        )
    else:
        reporter.say(f"{label}: FAILED: {figures.failure}")
    return figures
