"""A self-run endpoint's webhooks (docs/business.md section 9): the server's outbox code
(``service.business.webhooks``: signing, retries with backoff for 24 hours, order, bounds) over the
server's SQLite store code, in one file of the endpoint's own data directory. The file holds the
business's row (so the outbox's foreign keys hold), its webhook (URL and app secret, as the server
gives them to the endpoint) and the events waiting; nothing of it reaches the server."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import Timestamp
from passerelle.proto.cloud.webhooks import WebhookPayload
from passerelle.proto.rest.business import EndpointConfig
from passerelle.server.metrics import WebhookMetrics
from passerelle.server.system import SystemClock
from passerelle.server.webhook_http import HttpxWebhooks
from passerelle.service.business.records import BusinessProfile, BusinessRecord
from passerelle.service.business.webhook_ports import WebhookConfig
from passerelle.service.business.webhooks import WebhookPolicy, Webhooks
from passerelle.service.ports import Store
from passerelle.storage import open_store
from passerelle.storage.business import business_store_for, webhook_store_for

OUTBOX_FILE = "webhooks.db"


class LocalOutbox:
    def __init__(self, store: Store, business: BusinessId, webhooks: Webhooks, http: HttpxWebhooks) -> None:
        self._store = store
        self._business = business
        self.webhooks = webhooks
        self._http = http
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, data_dir: Path, config: EndpointConfig, *, policy: WebhookPolicy | None = None
    ) -> LocalOutbox:
        store = open_store(f"sqlite:///{data_dir / OUTBOX_FILE}")
        await store.open()
        businesses = business_store_for(store)
        business = BusinessId(config.business_id)
        if await businesses.get_business(business) is None:
            await businesses.create_business(
                BusinessRecord(
                    id=business,
                    slug=config.address.removeprefix("biz:"),
                    profile=BusinessProfile(name=config.name),
                    verified=False,
                    created_at=Timestamp(int(time.time() * 1000)),
                    secret=secrets.token_bytes(32),
                )
            )
        http = HttpxWebhooks(max_connections=4)
        webhooks = Webhooks(
            store=webhook_store_for(store),
            businesses=businesses,
            http=http,
            meter=WebhookMetrics(CollectorRegistry()),
            clock=SystemClock(),
            policy=policy or WebhookPolicy(concurrency=1),
        )
        outbox = cls(store, business, webhooks, http)
        await outbox.configure(config)
        return outbox

    async def configure(self, config: EndpointConfig) -> None:
        """The webhook the server holds for the business (set, changed or removed by the operator)."""
        store = webhook_store_for(self._store)
        hook = config.webhook
        if hook is None:
            await store.clear_webhook(self._business)
            return
        current = await store.get_webhook(self._business)
        if current is None or (current.callback_url, current.app_secret) != (
            hook.callback_url,
            hook.app_secret,
        ):
            await store.set_webhook(
                WebhookConfig(
                    business=self._business,
                    callback_url=hook.callback_url,
                    verify_token="",
                    app_secret=hook.app_secret,
                    updated_at=Timestamp(int(time.time() * 1000)),
                )
            )

    def start(self) -> None:
        self._task = asyncio.create_task(self.webhooks.run(), name="endpoint-webhooks")

    async def enqueue(self, payload: WebhookPayload) -> None:
        await self.webhooks.enqueue(self._business, payload)

    async def enqueue_many(self, payloads: Sequence[WebhookPayload]) -> None:
        await self.webhooks.enqueue_many(self._business, payloads)

    async def pending(self) -> int:
        return await self.webhooks.pending(self._business)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()
        await self._store.close()
