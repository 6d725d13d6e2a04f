"""``Webhooks``: each business's webhook (callback URL, verify token, app secret, set only after
the ``GET`` handshake passes) and the durable outbox that posts its events (docs/business.md
section 9).

One event per ``POST``; the body's bytes are fixed when the event is enqueued and signed with
``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, bytes)>``. A 2xx answer deletes the
event; anything else (another status, a timeout, no connection) posts the same bytes again after
an exponential backoff with jitter, capped, until ``max_age_s`` after the enqueue, when the event is
dropped (counted and logged, without its body). One event in flight per business keeps each
business's order; at most ``concurrency`` in flight overall, each bounded by ``timeout_s``, so a
dead endpoint only delays its own business. Events stay in the store until answered, so a restart
posts again whatever was in flight (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import InvalidInput, NotFound
from passerelle.domain.ids import Timestamp
from passerelle.proto.cloud.codec import encode
from passerelle.proto.cloud.webhooks import (
    NumberQualityPayload,
    TemplateQualityPayload,
    TemplateStatusPayload,
    WebhookPayload,
)
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.webhook_ports import (
    OutboxEvent,
    WebhookConfig,
    WebhookHttp,
    WebhookMeter,
    WebhookStore,
)
from passerelle.service.ports import Clock

log = logging.getLogger("passerelle.webhooks")

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_URL_CHARS = 2048
MAX_SECRET_CHARS = 256
MIN_APP_SECRET_CHARS = 16
LEASE_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookPolicy:
    timeout_s: float = 10.0
    """Per request: the handshake and each ``POST``."""
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 3600.0
    max_age_s: float = 24 * 3600.0
    """An event not delivered this long after it was enqueued is dropped."""
    concurrency: int = 64
    """Events in flight at once, across businesses (one per business at most)."""
    batch: int = 100
    """Events of one business taken in one claim and settled in one transaction, posted one after
    the other (its order)."""
    outbox_cap: int = 10_000
    """Events waiting per business; at the cap a new event is dropped (the waiting ones keep their order)."""

    def backoff_s(self, attempts: int, rng: random.Random) -> float:
        """The wait after the ``attempts``-th failed post: base·2^(attempts-1), capped, times a
        random factor in [0.5, 1] so that businesses failing together do not retry together."""
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** min(attempts - 1, 62))
        return delay * rng.uniform(0.5, 1.0)


def signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value of ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def hint(secret: str) -> str:
    """What is shown of a secret once it is set: its last 4 characters."""
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


def _check_url(url: str) -> str:
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"callback_url: at most {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("callback_url: an absolute http(s) URL")
    if parts.fragment:
        raise InvalidInput("callback_url: no #fragment")
    return url


def _check_secret(name: str, value: str, minimum: int) -> str:
    if not minimum <= len(value) <= MAX_SECRET_CHARS or not value.isprintable() or value != value.strip():
        raise InvalidInput(f"{name}: {minimum} to {MAX_SECRET_CHARS} printable characters, no outer spaces")
    return value


class Webhooks:
    def __init__(
        self,
        *,
        store: WebhookStore,
        businesses: BusinessStore,
        http: WebhookHttp,
        meter: WebhookMeter,
        clock: Clock,
        policy: WebhookPolicy,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._businesses = businesses
        self._http = http
        self._meter = meter
        self._clock = clock
        self.policy = policy
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self.progress = asyncio.Condition()
        """Notified after each post's outcome (delivered, retried or dropped), for whoever watches."""

    # -- configuration ----------------------------------------------------------------------------

    async def configure(
        self,
        business: str,
        *,
        callback_url: str,
        verify_token: str,
        app_secret: str | None,
        public_only: bool = False,
    ) -> tuple[WebhookConfig, bool]:
        """Set the business's webhook after the handshake passed; the config and whether the app
        secret was made here (then the caller shows it once). ``public_only``: the handshake and
        every post go only to a public address, the one checked (``WebhookConfig.public_only``)."""
        owner = await self._businesses.get_business(BusinessId(business))
        if owner is None:
            raise NotFound("no such business")
        url = _check_url(callback_url)
        token = _check_secret("verify_token", verify_token, 1)
        made = app_secret is None
        secret = secrets.token_urlsafe(32) if app_secret is None else app_secret
        _check_secret("app_secret", secret, MIN_APP_SECRET_CHARS)
        await self._handshake(owner.id, url, token, public_only=public_only)
        config = WebhookConfig(
            business=owner.id,
            callback_url=url,
            verify_token=token,
            app_secret=secret,
            updated_at=self._clock.now_ms(),
            public_only=public_only,
        )
        if not await self._store.set_webhook(config):
            raise NotFound("no such business")
        log.info("webhook set", extra={"business": owner.id})
        self._wake.set()
        return config, made

    async def _handshake(self, business: BusinessId, url: str, token: str, *, public_only: bool) -> None:
        """Meta's verification: ``GET url?hub.mode=subscribe&hub.challenge=<digits>&hub.verify_token=…``
        must answer 200 with the challenge (a number: some bots answer ``int(challenge)``)."""
        challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
        params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token}
        try:
            answer = await self._http.get(
                url, params, timeout_s=self.policy.timeout_s, public_only=public_only
            )
        except (OSError, TimeoutError) as exc:
            log.info(
                "webhook verification: no answer", extra={"business": business, "error": type(exc).__name__}
            )
            raise InvalidInput("callback_url: the verification request got no answer") from None
        if answer.status != 200 or answer.text.strip() != challenge:
            log.info("webhook verification failed", extra={"business": business, "status": answer.status})
            raise InvalidInput(
                f"callback_url: verification failed (HTTP {answer.status}; the challenge must come back)"
            )

    async def show(self, business: str) -> WebhookConfig:
        config = await self._store.get_webhook(BusinessId(business))
        if config is None:
            raise NotFound("this business has no webhook")
        return config

    async def config_of(self, business: BusinessId) -> WebhookConfig | None:
        """The business's webhook, secrets included (for its own endpoint, which signs with them)."""
        return await self._store.get_webhook(business)

    async def clear(self, business: str) -> None:
        """Events still waiting are dropped when their turn comes (there is nowhere to post them)."""
        if not await self._store.clear_webhook(BusinessId(business)):
            raise NotFound("this business has no webhook")
        self._wake.set()

    async def pending(self, business: str) -> int:
        return await self._store.pending(BusinessId(business))

    # -- the outbox -------------------------------------------------------------------------------

    async def enqueue(
        self,
        business: BusinessId,
        payload: WebhookPayload | TemplateStatusPayload | TemplateQualityPayload | NumberQualityPayload,
    ) -> bool:
        """The service layer's one entry: the event's bytes are fixed here. False when it was not
        queued: the business has no webhook, or its outbox is full (both counted as dropped)."""
        return await self.enqueue_bytes(business, encode(payload))

    async def enqueue_bytes(self, business: BusinessId, body: bytes) -> bool:
        if await self._store.get_webhook(business) is None:
            self._meter.dropped("no_webhook")
            return False
        event = await self._store.enqueue(business, body, at=self._clock.now_ms(), cap=self.policy.outbox_cap)
        if event is None:
            self._meter.dropped("full")
            log.warning("webhook outbox full: event dropped", extra={"business": business})
            return False
        self._meter.queued()
        self._wake.set()
        return True

    async def enqueue_many(self, business: BusinessId, payloads: Sequence[WebhookPayload]) -> int:
        """``enqueue`` of each payload in turn, stored in one transaction; how many were queued."""
        if not payloads:
            return 0
        if await self._store.get_webhook(business) is None:
            for _ in payloads:
                self._meter.dropped("no_webhook")
            return 0
        events = await self._store.enqueue_many(
            business, [encode(p) for p in payloads], at=self._clock.now_ms(), cap=self.policy.outbox_cap
        )
        for event in events:
            if event is None:
                self._meter.dropped("full")
                log.warning("webhook outbox full: event dropped", extra={"business": business})
            else:
                self._meter.queued()
        self._wake.set()
        return sum(1 for e in events if e is not None)

    async def run(self) -> None:
        """The sender: until cancelled, posts each business's due events in order, one business's
        batch at a time (one post in flight per business)."""
        in_flight: dict[BusinessId, asyncio.Task[None]] = {}

        def finished(task: asyncio.Task[None]) -> None:
            for business, running in list(in_flight.items()):
                if running is task:
                    del in_flight[business]
            self._wake.set()

        try:
            while True:
                self._wake.clear()
                free = self.policy.concurrency - len(in_flight)
                if free > 0:
                    now = self._clock.now_ms()
                    lease_until = self._lease_end(now)
                    claimed = await self._store.claim_due(
                        now,
                        skip=frozenset(in_flight),
                        limit=free,
                        lease_until=lease_until,
                        batch=self.policy.batch,
                    )
                    batches: dict[BusinessId, list[OutboxEvent]] = {}
                    for event in claimed:  # each business's events together, in order
                        batches.setdefault(event.business, []).append(event)
                    for business, events in batches.items():
                        task = asyncio.create_task(
                            self._deliver(events, lease_until), name=f"webhook-{business}"
                        )
                        in_flight[business] = task
                        task.add_done_callback(finished)
                timeout: float | None = None
                if len(in_flight) < self.policy.concurrency:
                    due = await self._store.next_due(skip=frozenset(in_flight))
                    if due is not None:
                        timeout = max(0.0, (due - self._clock.now_ms()) / 1000)
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            running = list(in_flight.values())
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _lease_end(self, now: Timestamp) -> Timestamp:
        """How long claimed events are this sender's: beyond a post's timeout and the writes after
        it (a batch stops posting when another post might outlast it). Events of a process that
        stopped mid-post are taken again after this."""
        return Timestamp(now + int((2 * self.policy.timeout_s + LEASE_MARGIN_S) * 1000))

    async def _deliver(self, events: list[OutboxEvent], lease_until: Timestamp) -> None:
        """Post one business's claimed events one after the other, then settle them all in one
        transaction: the delivered deleted, the first that failed postponed (backoff) and the rest
        given back as they were, so they follow it in order. Nothing is written between posts; a
        stop before the settle posts them again later (at least once)."""
        done: list[int] = []
        retry: list[OutboxEvent] = []
        latencies: list[float] = []
        dropped: list[str] = []
        retried = 0
        posted = 0
        try:
            config = await self._store.get_webhook(events[0].business)
            if config is None:
                done = [e.id for e in events]
                dropped = ["no_webhook"] * len(events)
                posted = len(events)
            else:
                for event in events:
                    if posted and self._clock.now_ms() + self._post_budget_ms() > lease_until:
                        break  # the lease might end mid-post: the rest wait for the next claim
                    status = await self._post(config, event)
                    posted += 1
                    now = self._clock.now_ms()
                    if status is not None and 200 <= status < 300:
                        done.append(event.id)
                        latencies.append(max(0, now - event.enqueued_at) / 1000)
                        continue
                    attempts = event.attempts + 1
                    next_at = Timestamp(now + int(self.policy.backoff_s(attempts, self._rng) * 1000))
                    if next_at - event.enqueued_at > self.policy.max_age_s * 1000:
                        done.append(event.id)
                        dropped.append("expired")
                        log.warning(
                            "webhook event dropped after retrying",
                            extra={"business": event.business, "attempts": attempts, "last_status": status},
                        )
                    else:
                        retry.append(replace(event, attempts=attempts, next_at=next_at))
                        retried += 1
                    break  # the events after it wait for it (order)
            now = self._clock.now_ms()
            retry.extend(replace(e, next_at=now) for e in events[posted:])
            await self._store.settle(done=done, retry=retry)
        except (
            asyncio.CancelledError
        ):  # stopping: give the events back at once rather than at the lease's end
            now = self._clock.now_ms()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._store.settle(
                        done=done, retry=[replace(e, next_at=now) for e in events if e.id not in done]
                    )
            raise
        except Exception:  # the store failed: the events stay and are posted again after the lease
            log.exception("webhook delivery failed", extra={"business": events[0].business})
            await asyncio.sleep(self.policy.backoff_base_s)
        else:
            for latency in latencies:
                self._meter.delivered(latency)
            for reason in dropped:
                self._meter.dropped(reason)
            for _ in range(retried):
                self._meter.retried()
        async with self.progress:
            self.progress.notify_all()

    def _post_budget_ms(self) -> int:
        return int((self.policy.timeout_s + LEASE_MARGIN_S) * 1000)

    async def _post(self, config: WebhookConfig, event: OutboxEvent) -> int | None:
        """The status of the signed ``POST`` of the event's bytes; None when no answer came."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(config.app_secret, event.body),
        }
        try:
            answer = await self._http.post(
                config.callback_url,
                event.body,
                headers,
                timeout_s=self.policy.timeout_s,
                public_only=config.public_only,
            )
        except (OSError, TimeoutError):
            return None
        return answer.status
