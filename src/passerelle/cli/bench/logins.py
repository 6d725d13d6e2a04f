"""Scenario (f), logins: how many devices per second can log in with their key and be online, and
the server's CPU for each.

One login is what a returning device does (docs/protocol.md sections 4.5 and 5.1). By default
(``login_via`` "ws") on the WebSocket itself: a new connection, ``login``, the server's
``challenge``, an Ed25519 signature over it in the signed ``hello``, and ``welcome`` with the new
token. With "http": ``POST /v1/auth/challenge``, the signature, ``POST /v1/auth/token``, then a
WebSocket, ``hello`` with the new token and ``welcome`` back. Either way the bench then closes the
WebSocket (its close is part of the CPU measured). ``login_concurrency`` devices (phone app
accounts, registered first) log in over and over, each one login at a time (with "http" over a
kept-alive HTTP connection of its own, ``RawHttp``: httpx cost more CPU than the server), until
``logins`` logins are done. Latency is one login from its first request to ``welcome``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from time import perf_counter_ns
from urllib.parse import urlsplit

from passerelle.cli.bench.accounting import NO_MESSAGES
from passerelle.cli.bench.client import Recorder, connect
from passerelle.cli.bench.envelopes import signed_hello_frame
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import ScenarioFigures, compute
from passerelle.cli.bench.group_accounts import CodeGateway, register_phones
from passerelle.cli.bench.identity import BenchAccount, b64, canonical_json
from passerelle.cli.bench.options import SCENARIO_TITLES, BenchOptions
from passerelle.cli.bench.progress import Reporter
from passerelle.cli.bench.rawhttp import HttpClosed, RawHttp
from passerelle.cli.bench.server import bench_server
from passerelle.cli.bench.world import Meter, interval
from passerelle.proto.rest import accounts as wire
from passerelle.proto.rest.base import decode, encode


def login_signature(account: BenchAccount, challenge: str) -> str:
    """The device's signature over a login challenge (docs/protocol.md section 4.5)."""
    assert account.signing is not None
    signed = {"challenge": challenge, "device_id": account.device_id, "purpose": "passerelle-login"}
    return b64(account.signing.sign(canonical_json(signed)))


def signed_hello(account: BenchAccount) -> Callable[[str], bytes]:
    """What answers the server's ``challenge`` on the WebSocket: the signed ``hello``."""
    device = account.device_id

    def sign(challenge: str) -> bytes:
        return signed_hello_frame(device, challenge, login_signature(account, challenge))

    return sign


async def log_in(http: RawHttp, account: BenchAccount) -> str | None:
    """A fresh token for ``account``'s device (challenge, signature, token), or None (counted by the
    caller) when the server refuses."""
    device = account.device_id
    status, body = await http.post("/v1/auth/challenge", encode(wire.ChallengeRequest(device_id=device)))
    if status != 200:
        return None
    challenge = decode(body, wire.Challenge).challenge
    signature = login_signature(account, challenge)
    request = wire.TokenRequest(device_id=device, challenge=challenge, signature=signature)
    status, body = await http.post("/v1/auth/token", encode(request))
    if status != 200:
        return None
    return decode(body, wire.DeviceGrant).token


async def run_logins(options: BenchOptions, reporter: Reporter) -> ScenarioFigures:
    workers = min(options.login_concurrency, options.logins)
    label = "[f] logins"
    async with CodeGateway().running() as codes, bench_server(options, codes) as server:
        reporter.say(f"{label}: server pid {server.pid} ready; registering {workers} accounts")
        accounts = await register_phones(server.url, codes, workers)
        rec = Recorder()
        done = [0]
        next_login = [0]

        where = urlsplit(server.url)
        host, port = where.hostname or "127.0.0.1", where.port or 80

        async def worker(account: BenchAccount) -> None:
            if options.login_via == "ws":
                await ws_logins_of(account)
                return
            http = RawHttp(host, port, timeout_s=30.0)
            try:
                await logins_of(http, account)
            finally:
                http.close()

        async def ws_logins_of(account: BenchAccount) -> None:
            sign = signed_hello(account)
            while next_login[0] < options.logins:
                next_login[0] += 1
                start = perf_counter_ns()
                try:
                    socket = await connect(
                        server.ws_url, account, rec, ack_batch=options.ack_batch, sign=sign
                    )
                except BenchError:
                    rec.error("login_ws_refused")
                    continue
                if not socket.token:
                    rec.error("login_no_token")
                now = perf_counter_ns()
                rec.latencies_ns.append(now - start)
                rec.count_in_bin(now, 1)
                rec.delivered += 1
                done[0] += 1
                await socket.close()

        async def logins_of(http: RawHttp, account: BenchAccount) -> None:
            while next_login[0] < options.logins:
                next_login[0] += 1
                start = perf_counter_ns()
                try:
                    token = await log_in(http, account)
                except (HttpClosed, OSError, TimeoutError) as exc:
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

        meter = Meter(server.pid)
        rec.start()
        await meter.begin()
        async with (
            reporter.track("logins", options.logins, lambda: done[0]),
            asyncio.TaskGroup() as group,
        ):
            for account in accounts:
                group.create_task(worker(account))
        reading = await meter.end()
        rec.stop()
    counts = dataclasses.replace(NO_MESSAGES, errors=dict(rec.errors))
    extra = {"logins": options.logins, "concurrency": workers, "login_via": options.login_via}
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
