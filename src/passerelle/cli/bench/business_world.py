"""The business scenarios' world (docs/business.md): a business set up by the operator through the
admin API — business account, numbers, a system-user token for its bot, a webhook pointing at the
bench's own receiver, a hosted endpoint — and the people it writes to, set up through the people's
API; and ``WebhookReceiver``, the bot's webhook endpoint: a real HTTP server on 127.0.0.1 that
answers Meta's handshake and checks ``X-Hub-Signature-256`` on every POST, as pywa does.

How the bot learns the people's ids: a business learns a person's ``wa_id`` only from a webhook
(docs/business.md section 10: no phone numbers). Each person opts in to marketing, stops it and
resumes it: the ``resume`` is a ``user_preferences`` webhook carrying their ``wa_id`` (the
evaluation of quality is turned off in the bench's server, so these stops rate nothing).

The one step that is not an API call: the business account's messaging-limit tier is written into
the bench server's own database (``set_tier``). No API raises a tier — it grows by evaluation over
days (docs/business.md section 5) — and a fresh business may reach 250 people.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter_ns
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.identity import BenchAccount, b64, canonical_json

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
SLUG = "bench-shop"
APP_SECRET = "bench-app-secret-0123456789abcdef"
VERIFY_TOKEN = "bench-verify-token"
BUSINESS_SENDS_PER_SECOND = 1000.0
"""Each number's throughput: the Cloud API's highest standard one (80 by default, 1 000 after an
upgrade), so a campaign over ``numbers`` numbers may go up to ``numbers`` × 1 000 sends/s."""
TEMPLATE = {
    "name": "spring_sale",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Spring sale"},
        {
            "type": "BODY",
            "text": "Hello {{1}}, {{2}} off every bike this week.",
            "example": {"body_text": [["Marie", "20 %"]]},
        },
        {"type": "FOOTER", "text": "Bench Shop"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
    ],
}
SETUP_CONCURRENCY = 16


def business_config(limits_and_server: str) -> str:
    """Appended to the bench configuration (which ends inside its [limits] table): the business
    limits, then ``limits_and_server`` (the code gateway's lines, which open [server]), then the
    business settings of [server]."""
    return (
        f"business_sends_per_second = {BUSINESS_SENDS_PER_SECOND}\n"
        + limits_and_server
        + f'admin_token = "{ADMIN_TOKEN}"\n'
        + 'operator_name = "Bench"\n'
        + 'business_template_auto_approve = "marketing"\n'
        + "business_quality_interval_s = 0\n"
    )


@dataclass
class Hook:
    """One webhook POST the receiver accepted: when it arrived and its decoded body."""

    at_ns: int
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    """The bot's webhook endpoint. ``on_post`` sees every accepted POST; a POST whose signature does
    not verify is answered 401 and counted in ``bad_signatures``."""

    app_secret: str = APP_SECRET
    verify_token: str = VERIFY_TOKEN
    on_post: Callable[[Hook], None] | None = None
    posts: int = 0
    bad_signatures: int = 0
    url: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _signed(self, body: bytes, header: str) -> bool:
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header, f"sha256={digest}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = perf_counter_ns()
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, answer = self._answer(method, target, headers, body, arrived)
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                    % (status, len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, arrived: int
    ) -> tuple[int, bytes]:
        if method == "GET":  # Meta's handshake
            query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
            if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == self.verify_token:
                return 200, query.get("hub.challenge", "").encode()
            return 403, b"wrong verify token"
        if not self._signed(body, headers.get("x-hub-signature-256", "")):
            self.bad_signatures += 1
            return 401, b"bad signature"
        self.posts += 1
        if self.on_post is not None:
            self.on_post(Hook(at_ns=arrived, body=json.loads(body)))
        self.changed.set()
        return 200, b"ok"

    @contextlib.asynccontextmanager
    async def running(self, *, separate: bool = False) -> AsyncIterator[WebhookReceiver]:
        """Listening until the block ends; ``separate``: in a process of its own
        (``receiver_proc``), whose posts are handed to ``on_post`` here."""
        if separate:
            async with self._separate():
                yield self
            return
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/webhook"
        try:
            yield self
        finally:
            server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()

    @contextlib.asynccontextmanager
    async def _separate(self) -> AsyncIterator[None]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "passerelle.cli.bench.receiver_proc",
            self.app_secret,
            self.verify_token,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stdin is not None
        relay = None
        try:
            async with asyncio.timeout(30.0):
                first = await proc.stdout.readline()
            if not first.startswith(b"port "):
                raise BenchError("the webhook receiver's process did not start")
            self.url = f"http://127.0.0.1:{int(first.split()[1])}/webhook"
            relay = asyncio.create_task(self._relay(proc.stdout), name="bench-webhook-relay")
            yield
        finally:
            proc.stdin.close()
            if relay is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    async with asyncio.timeout(5.0):
                        await relay
                relay.cancel()
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _relay(self, stdout: asyncio.StreamReader) -> None:
        """The posts the receiver's process accepted or refused, as ``_answer`` would see them."""
        while line := await stdout.readline():
            if line.startswith(b"B"):
                self.bad_signatures += 1
            else:
                _, arrived, size = line.split()
                body = await stdout.readexactly(int(size))
                self.posts += 1
                if self.on_post is not None:
                    self.on_post(Hook(at_ns=int(arrived), body=json.loads(body)))
            self.changed.set()


def changes(hook: Hook) -> list[tuple[str, dict[str, Any]]]:
    """The (field, value) pairs of a webhook body."""
    found = []
    for entry in hook.body.get("entry", []):
        for change in entry.get("changes", []):
            found.append((str(change.get("field")), dict(change.get("value") or {})))
    return found


@dataclass(frozen=True, slots=True)
class Shop:
    business_id: str
    waba_id: str
    numbers: list[str]
    token: str


async def _ok(response: httpx.Response, what: str, status: int = 201) -> dict[str, Any]:
    if response.status_code != status:
        raise BenchError(f"{what} failed: HTTP {response.status_code} {response.text[:300]}")
    return dict(response.json())


async def open_shop(url: str, receiver: WebhookReceiver, *, numbers: int) -> Shop:
    """The business, its account and ``numbers`` numbers, the bot's token, the webhook (with its
    handshake against ``receiver``), a hosted endpoint, and an approved marketing template."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0, headers=ADMIN) as http:
        body = {"slug": SLUG, "name": "Bench Shop", "about": "Bikes", "website": "https://bench.example"}
        business = str(
            (await _ok(await http.post("/v1/admin/businesses", json=body), "a business"))["business_id"]
        )
        base = f"/v1/admin/businesses/{business}"
        waba = str(
            (await _ok(await http.post(f"{base}/accounts", json={"name": "main"}), "an account"))["waba_id"]
        )
        ids = []
        for n in range(numbers):
            body = {"waba_id": waba, "display_number": f"+33 1 99 00 {n // 100:02d} {n % 100:02d}"}
            ids.append(
                str((await _ok(await http.post(f"{base}/numbers", json=body), "a number"))["phone_number_id"])
            )
        token = str(
            (await _ok(await http.post(f"{base}/tokens", json={"label": "bench bot"}), "a token"))["token"]
        )
        hook = {
            "callback_url": receiver.url,
            "verify_token": receiver.verify_token,
            "app_secret": receiver.app_secret,
        }
        await _ok(await http.put(f"{base}/webhook", json=hook), "the webhook", 200)
        await _ok(await http.post(f"{base}/endpoint"), "the hosted endpoint")
        bot = {"authorization": f"Bearer {token}"}
        made = await http.post(f"/v22.0/{waba}/message_templates", json=TEMPLATE, headers=bot)
        template = await _ok(made, "the template", 200)
        if template.get("status") != "APPROVED":
            raise BenchError(f"the template is {template.get('status')}, not APPROVED")
    return Shop(business_id=business, waba_id=waba, numbers=ids, token=token)


def set_tier(database: Path, waba: str, tier: int) -> None:
    """Write the business account's messaging-limit tier into the bench server's database (see the
    module's docstring: no API raises a tier)."""
    with contextlib.closing(sqlite3.connect(database, timeout=30.0)) as conn, conn:
        changed = conn.execute("UPDATE business_accounts SET tier = ? WHERE id = ?", (tier, waba)).rowcount
    if changed != 1:
        raise BenchError(f"could not set the tier of business account {waba}")


def fallback_key(account: BenchAccount) -> dict[str, Any]:
    """A fallback key for the person's device, signed by its Ed25519 key (protocol §4.7): the
    endpoint claims it to open an Olm session with the device."""
    if account.signing is None:
        raise BenchError(f"{account.handle} has no signing key")
    key = b64(X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    signature = b64(account.signing.sign(canonical_json({"key": key})))
    return {"fallback_key": {"key_id": "AAAAAQ", "key": key, "signature": signature}}


async def enrol_people(url: str, shop: Shop, people: Sequence[BenchAccount]) -> None:
    """Each person publishes a fallback key, opts in to the business's marketing, stops and resumes
    it (the ``resume`` webhook gives the bot their ``wa_id``)."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    scope = f"/v1/me/business-consents/{shop.business_id}/marketing"

    async def one(http: httpx.AsyncClient, person: BenchAccount) -> None:
        auth = {"authorization": f"Bearer {person.token}"}
        async with gate:
            await _ok(
                await http.post("/v1/keys", json=fallback_key(person), headers=auth), "a key upload", 200
            )
            for step in ("grant", "stop", "resume"):
                if step == "stop":
                    answer = await http.delete(scope, params={"source": "sdk"}, headers=auth)
                else:
                    answer = await http.put(scope, json={"source": "sdk"}, headers=auth)
                await _ok(answer, f"{person.handle}'s marketing {step}", 200)

    try:
        async with httpx.AsyncClient(base_url=url, timeout=60.0) as http, asyncio.TaskGroup() as group:
            for person in people:
                group.create_task(one(http, person))
    except* BenchError as errors:
        raise errors.exceptions[0] from None
