"""Business webhooks through the real server (docs/business.md section 9): the verification
handshake when the operator sets a callback URL, and the outbox posting one signed event per POST to
a real HTTP receiver — retried with the same bytes and in order after failures, past an endpoint that
was down, without one business's dead endpoint holding up another's, across a server restart, and
dropped (counted, logged without the body) after ``webhook_max_age_s``. Backoff times are set small;
every wait is on what the receiver got or on a counter, with a timeout."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from passerelle.cli.main import app as cli_app
from passerelle.domain.business.ids import BusinessId
from passerelle.proto.cloud.codec import encode
from passerelle.proto.cloud.webhooks import (
    InboundMessage,
    InboundText,
    Metadata,
    Value,
    WebhookContact,
    one_event,
)
from passerelle.sdk import Client
from passerelle.server.runner import running_server
from passerelle.service.business.webhooks import Webhooks
from passerelle.storage.business import webhook_store_for
from tests.conftest import CodeInbox, ServerHandle, make_settings
from tests.integration.test_business import ADMIN, AUTH, PW, made_business, with_number
from tests.integration.webhook_receiver import Receiver

FAST = {
    "admin_token": ADMIN,
    "webhook_backoff_base_s": 0.02,
    "webhook_backoff_cap_s": 0.1,
    "webhook_timeout_s": 2.0,
}
pytestmark = pytest.mark.settings(**FAST)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


def text_event(n: int, *, waba: str = "100000000000001", number: str = "100000000000002") -> Any:
    """An incoming text message as the Cloud API posts it (the producer is not built yet)."""
    value = Value(
        metadata=Metadata(display_phone_number="33123456789", phone_number_id=number),
        contacts=[WebhookContact(wa_id="123456789012345", user_id="ZZ.1234567890123456789")],
        messages=[
            InboundMessage(
                from_="123456789012345",
                id=f"wamid.IN{n}",
                timestamp="1750000000",
                type="text",
                text=InboundText(body=f"message {n}"),
            )
        ],
    )
    return one_event(waba, "messages", value)


def webhooks_of(server: ServerHandle) -> Webhooks:
    return server.running.services.webhooks


async def set_webhook(http: httpx.AsyncClient, business: str, bot: Receiver, **extra: Any) -> httpx.Response:
    body = {"callback_url": bot.url, "verify_token": bot.verify_token, "app_secret": bot.app_secret, **extra}
    return await http.put(f"/v1/admin/businesses/{business}/webhook", json=body, headers=AUTH)


async def hooked_business(http: httpx.AsyncClient, bot: Receiver, slug: str = "velo-paris") -> str:
    business = str((await made_business(http, slug))["business_id"])
    answer = await set_webhook(http, business, bot)
    assert answer.status_code == 200, answer.text
    return business


def metric(server: ServerHandle, name: str, **labels: str) -> float:
    value = server.running.services.metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


async def eventually(webhooks: Webhooks, condition: Callable[[], bool], *, within: float = 10.0) -> None:
    """Wait for a condition on the sender's counters: it notifies after each post's outcome."""
    async with asyncio.timeout(within), webhooks.progress:
        await webhooks.progress.wait_for(condition)


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_the_callback_url_is_kept_only_when_the_handshake_passes(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    business = str((await made_business(http))["business_id"])
    path = f"/v1/admin/businesses/{business}/webhook"
    wrong = await set_webhook(http, business, receiver, verify_token="not-the-bots-token")
    assert wrong.status_code == 400 and "verification failed (HTTP 403" in wrong.json()["error"]["message"]
    assert (await http.get(path, headers=AUTH)).status_code == 404
    asked = receiver.challenges[-1]
    assert asked["hub.mode"] == "subscribe" and asked["hub.challenge"].isdigit()
    nobody = await http.put(
        path, json={"callback_url": "http://127.0.0.1:9/none", "verify_token": "vt"}, headers=AUTH
    )
    assert nobody.status_code == 400 and "no answer" in nobody.json()["error"]["message"]

    # Without an app secret the server makes one and shows it this once.
    made = await set_webhook(http, business, receiver, app_secret=None)
    assert made.status_code == 200, made.text
    shown = made.json()
    assert len(shown["app_secret"]) >= 32 and shown["callback_url"] == receiver.url
    assert shown["verify_token_hint"] == "…" + receiver.verify_token[-4:] and shown["pending"] == 0
    again = (await http.get(path, headers=AUTH)).json()
    assert "app_secret" not in again and receiver.verify_token not in json.dumps(again)
    assert again["app_secret_hint"] == "…" + shown["app_secret"][-4:]

    given = await set_webhook(http, business, receiver)
    assert given.status_code == 200 and "app_secret" not in given.json()
    assert (
        SECRET not in given.text and (await http.get(path, headers=AUTH)).json()["app_secret_hint"] == "…cdef"
    )
    assert (
        await http.put(path, json={"callback_url": "ftp://x", "verify_token": "v"}, headers=AUTH)
    ).status_code == 400
    assert (await http.put(path, json={"callback_url": receiver.url, "verify_token": "v"})).status_code == 401
    other = "/v1/admin/businesses/bz_nobody/webhook"
    assert (
        await http.put(other, json={"callback_url": receiver.url, "verify_token": "v"}, headers=AUTH)
    ).status_code == 404
    log = await asyncio.to_thread(server.log_file.read_text)
    for secret in (SECRET, shown["app_secret"], receiver.verify_token):
        assert secret not in log
    assert (await http.delete(path, headers=AUTH)).status_code == 204
    assert (await http.get(path, headers=AUTH)).status_code == 404


async def test_failures_are_retried_with_the_same_bytes_in_order(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    business = BusinessId(await hooked_business(http, receiver))
    receiver.fail_next = 3
    events = [text_event(n) for n in range(5)]
    for event in events:
        assert await webhooks_of(server).enqueue(business, event)
    await receiver.wait_until(lambda r: len(r.accepted) == 5)
    expected = [encode(e) for e in events]
    assert receiver.accepted == expected  # nothing lost, nothing reordered
    assert [p.body for p in receiver.posts[:4]] == [expected[0]] * 4  # the same bytes, 3 failures then 200
    assert all(p.signature == signed(p.body) for p in receiver.posts)
    assert (
        json.loads(receiver.accepted[0])["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"]
        == "message 0"
    )
    assert metric(server, "passerelle_webhooks_queued_total") == 5
    assert metric(server, "passerelle_webhooks_retried_total") == 3
    await eventually(webhooks_of(server), lambda: metric(server, "passerelle_webhooks_delivered_total") == 5)
    assert metric(server, "passerelle_webhook_delivery_seconds_count") == 5
    assert await webhooks_of(server).pending(business) == 0
    scraped = (await http.get("/metrics")).text
    assert "passerelle_webhooks_delivered_total 5.0" in scraped


async def test_a_failure_in_the_middle_of_a_batch_holds_back_only_what_follows_it(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Five events stored together are claimed as one batch: the third's failure settles the two
    before it (never posted again), and it goes again with the same bytes before the last two."""
    business = BusinessId(await hooked_business(http, receiver))
    events = [text_event(n) for n in range(5)]
    expected = [encode(e) for e in events]
    receiver.fail_once = {expected[2]}
    assert await webhooks_of(server).enqueue_many(business, events) == 5
    await receiver.wait_until(lambda r: len(r.accepted) == 5)
    assert receiver.accepted == expected
    assert [(p.body, p.status) for p in receiver.posts] == [
        (expected[0], 200),
        (expected[1], 200),
        (expected[2], 500),
        (expected[2], 200),
        (expected[3], 200),
        (expected[4], 200),
    ]
    assert all(p.signature == signed(p.body) for p in receiver.posts)
    await eventually(webhooks_of(server), lambda: metric(server, "passerelle_webhooks_delivered_total") == 5)
    assert metric(server, "passerelle_webhooks_retried_total") == 1
    assert await webhooks_of(server).pending(business) == 0


async def test_an_endpoint_that_was_down_gets_everything_when_it_is_back(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    business = BusinessId(await hooked_business(http, receiver))
    await receiver.stop()
    for n in range(3):
        await webhooks_of(server).enqueue(business, text_event(n))
    await eventually(webhooks_of(server), lambda: metric(server, "passerelle_webhooks_retried_total") >= 2)
    await receiver.start()
    await receiver.wait_until(lambda r: len(r.accepted) == 3)
    assert receiver.accepted == [encode(text_event(n)) for n in range(3)]


async def test_a_dead_endpoint_does_not_hold_up_another_business(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    slow = Receiver(app_secret=SECRET, hang=True)
    await slow.start()
    try:
        stuck = BusinessId(await hooked_business(http, slow, "stuck-shop"))
        prompt = BusinessId(await hooked_business(http, receiver, "prompt-shop"))
        for n in range(3):
            await webhooks_of(server).enqueue(stuck, text_event(n))
        for n in range(3):
            await webhooks_of(server).enqueue(prompt, text_event(10 + n))
        # Within the stuck endpoint's 2-second timeout, the other business's events all arrive.
        await receiver.wait_until(lambda r: len(r.accepted) == 3, within=1.5)
        assert receiver.accepted == [encode(text_event(10 + n)) for n in range(3)]
        assert slow.posts == [] and await webhooks_of(server).pending(stuck) == 3
    finally:
        await slow.stop()


async def test_events_dropped_after_max_age_are_counted_and_logged_without_body(
    tmp_path: Path, log_file: Path
) -> None:
    bot = Receiver(app_secret=SECRET, always_fail=True)
    await bot.start()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = make_settings(data_dir, **FAST, webhook_max_age_s=0.3, webhook_outbox_cap=2)
    try:
        async with (
            running_server(settings, code_sender=CodeInbox()) as running,
            httpx.AsyncClient(base_url=running.url) as http,
        ):
            business = BusinessId(await hooked_business(http, bot))
            webhooks = running.services.webhooks
            assert await webhooks.enqueue(business, text_event(1))
            assert await webhooks.enqueue(business, text_event(2))
            assert not await webhooks.enqueue(business, text_event(3))  # the cap: the newest is dropped
            sample = running.services.metrics.registry.get_sample_value
            assert sample("passerelle_webhooks_dropped_total", {"reason": "full"}) == 1
            await eventually(
                webhooks,
                lambda: sample("passerelle_webhooks_dropped_total", {"reason": "expired"}) == 2,
            )
            assert await webhooks.pending(business) == 0
            assert len(bot.posts) >= 2 and {p.body for p in bot.posts} <= {
                encode(text_event(n)) for n in (1, 2)
            }
    finally:
        await bot.stop()
    log = await asyncio.to_thread(log_file.read_text)
    assert "webhook event dropped after retrying" in log and "webhook outbox full" in log
    assert "message 1" not in log and "wamid.IN1" not in log


async def test_events_pending_at_a_restart_are_delivered_after_it(tmp_path: Path) -> None:
    bot = Receiver(app_secret=SECRET, always_fail=True)
    await bot.start()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = make_settings(data_dir, **FAST)
    try:
        async with (
            running_server(settings, code_sender=CodeInbox()) as first,
            httpx.AsyncClient(base_url=first.url) as http,
        ):
            business = BusinessId(await hooked_business(http, bot))
            for n in range(3):
                await first.services.webhooks.enqueue(business, text_event(n))
            await bot.wait_until(lambda r: len(r.posts) >= 2)
        assert bot.accepted == []
        bot.always_fail = False
        async with running_server(settings, code_sender=CodeInbox()):
            await bot.wait_until(lambda r: len(r.accepted) == 3)
        assert bot.accepted == [encode(text_event(n)) for n in range(3)]
    finally:
        await bot.stop()


async def test_a_marketing_stop_and_resume_reach_the_bot_as_user_preferences(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    business = await hooked_business(http, receiver)
    number = await with_number(http, business, "+33 1 23 45 67 89")
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    try:
        await alice.businesses.opt_in(business, "marketing")  # a first opt-in is no resume
        await alice.businesses.stop(business)
        await alice.businesses.opt_in(business, "utility")
        await alice.businesses.opt_in(business, "marketing")
        await receiver.wait_until(lambda r: len(r.accepted) == 2)
    finally:
        await alice.close()
    changes = [json.loads(body)["entry"][0] for body in receiver.accepted]
    assert [c["id"] for c in changes] == [number["waba_id"]] * 2
    values = [c["changes"][0] for c in changes]
    assert {v["field"] for v in values} == {"user_preferences"}
    prefs = [v["value"]["user_preferences"][0] for v in values]
    assert [(p["category"], p["value"]) for p in prefs] == [
        ("marketing_messages", "stop"),
        ("marketing_messages", "resume"),
    ]
    contact = values[0]["value"]["contacts"][0]
    assert contact["user_id"].startswith("ZZ.") and contact["wa_id"] == prefs[0]["wa_id"]
    assert values[0]["value"]["metadata"] == {
        "display_phone_number": "33123456789",
        "phone_number_id": number["phone_number_id"],
    }


async def test_the_cli_sets_shows_and_clears_a_webhook(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    business = str((await made_business(http))["business_id"])
    runner = CliRunner()
    env = {
        "PASSERELLE_SERVER_URL": server.url,
        "PASSERELLE_ADMIN_TOKEN": ADMIN,
        "PASSERELLE_WEBHOOK_VERIFY_TOKEN": receiver.verify_token,
    }

    async def run(*args: str, **more_env: str) -> Any:
        result = await asyncio.to_thread(
            runner.invoke, cli_app, ["business", "webhook", *args], env={**env, **more_env}
        )
        return result.exit_code, result.output

    code, out = await run("set", business, receiver.url, PASSERELLE_WEBHOOK_VERIFY_TOKEN="wrong")
    assert code == 1 and "verification failed" in out
    code, out = await run("set", business, receiver.url, PASSERELLE_WEBHOOK_APP_SECRET=SECRET)
    assert code == 0 and json.loads(out)["callback_url"] == receiver.url and SECRET not in out
    code, out = await run("show", business)
    assert code == 0 and json.loads(out)["app_secret_hint"] == "…cdef" and receiver.verify_token not in out
    assert (await run("clear", business))[0] == 0
    assert (await run("show", business))[0] == 1


async def test_a_name_a_bot_registered_public_is_not_posted_to_once_it_resolves_to_a_private_one(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    """DNS rebinding (docs/business.md section 9, "Where to"): a bot registered
    ``http://localhost:<port>/…`` while the name resolved to a public address (``public_only``: the
    operator allows public addresses only); the test's resolver now gives the loopback, where the
    operator's own services are (so does the system's: without the guard the post would go). The server's posts resolve it at each attempt and refuse it:
    nothing reaches that address, the event waits (retried). The operator's own webhook, on the
    loopback, is posted to as before, and gets the waiting event, identical bytes."""
    business = BusinessId(await hooked_business(http, receiver))
    webhooks = webhooks_of(server)
    await webhooks.enqueue(business, text_event(0))
    await receiver.wait_until(lambda r: len(r.accepted) == 1)

    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:  # the test's DNS, now the loopback
        asked.append(host)
        return {"localhost": ["127.0.0.1"]}[host]

    server.running.services.adapters.webhooks.resolve = resolve
    store = webhook_store_for(server.running.services.store)
    registered = await store.get_webhook(business)
    assert registered is not None and not registered.public_only  # the operator's: not held to it
    rebound = receiver.url.replace("127.0.0.1", "localhost")
    await store.set_webhook(replace(registered, callback_url=rebound, public_only=True))
    await webhooks.enqueue(business, text_event(1))
    await eventually(webhooks, lambda: metric(server, "passerelle_webhooks_retried_total") >= 2)
    assert len(receiver.accepted) == 1 and asked[:2] == ["localhost", "localhost"]  # resolved at each try
    assert await webhooks.pending(business) == 1

    answer = await set_webhook(http, business, receiver)  # the operator's webhook again
    assert answer.status_code == 200, answer.text
    await receiver.wait_until(lambda r: len(r.accepted) == 2)
    assert receiver.accepted[1] == encode(text_event(1))
