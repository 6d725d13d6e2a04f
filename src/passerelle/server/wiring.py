"""The composition root: the one place that builds the server's object graph.

``adapters(settings)`` names the concrete adapters the settings ask for (store, broker, rate limits,
server secret, blob files, code sender) and opens nothing. ``build(settings, adapters)`` builds
every service, the hub and the gateways from them in one pass, in dependency order, with no link
patched afterwards; ``Wired.running()`` is the lifespan (open, run the owned tasks, close everything
in reverse order). The server (``server.app.create_app``), the tests' fixtures and the demo (through
``server.runner``) all build through here; tests hand in adapters of their own (a ``MemoryStore``,
a fake clock, a recording code sender). The business side (businesses, webhooks, quality,
hand-offs, commerce, linked accounts) is built by ``server.wiring_business.build_business``.

The links that once made cycles are cut so:
- the hub tells the send path's caches of another node's changes through ``SendCaches`` (built
  first, shared with messaging), so the pipeline can take ``hub.on_committed`` when it is built;
- the directory asks the safety policy (``SafetyPolicy``), not the privacy service, who hides from
  whom and who may see a last-seen time;
- stories delete their blobs through a ``BlobRemover`` of their own, so media can take the stories;
- presence is built before the hub, which takes ``presence.seen``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from passerelle.broker import open_broker
from passerelle.config import Settings
from passerelle.domain.proxies import TrustedProxies
from passerelle.server.codes import code_sender_from_setting
from passerelle.server.endpoint.hosted import HostedEndpoints
from passerelle.server.metrics import Metrics
from passerelle.server.system import RandomIds, SystemClock
from passerelle.server.webhook_http import HttpxWebhooks
from passerelle.server.wiring_business import build_business
from passerelle.server.ws.admission import Admission, fd_limit_warning
from passerelle.server.ws.expiry import TokenExpiry
from passerelle.server.ws.gateway import Gateway
from passerelle.server.ws.hub import Hub
from passerelle.server.ws.picows import PicowsGateway
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.accounts.keys import KeyService, KeysLowHook
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.cloud import BlockUsers, CloudControl
from passerelle.service.business.endpoints import BusinessEndpoints
from passerelle.service.business.evaluation import BusinessSignals, QualityEvaluation
from passerelle.service.business.feedback import BusinessFeedback
from passerelle.service.business.handoffs import HandOffs
from passerelle.service.business.people import BusinessPeople
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.registration import WebhookRegistration
from passerelle.service.business.sends import BusinessSends
from passerelle.service.business.templates import Templates
from passerelle.service.business.traffic import BusinessTraffic, person_blocked_by
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.caches import SendCaches
from passerelle.service.commerce.catalogs import Catalogs
from passerelle.service.commerce.orders import Orders
from passerelle.service.commerce.payments import Payments
from passerelle.service.commerce.sandbox import SandboxPayments
from passerelle.service.directory.directory import Directory
from passerelle.service.groups.groups import GroupDeviceNotices, GroupService
from passerelle.service.limiter import RateLimiter
from passerelle.service.links.links import Links
from passerelle.service.media.media import BlobRemover, MediaService
from passerelle.service.messaging.janitor import Janitor
from passerelle.service.messaging.messaging import MessagingService
from passerelle.service.messaging.pipeline import SendPipeline
from passerelle.service.ports import (
    BlobStore,
    Broker,
    Clock,
    CodeSender,
    ConnectionSlots,
    DeviceNotices,
    IdGenerator,
    Lease,
    RateLimits,
    Store,
)
from passerelle.service.privacy.presence import Presence
from passerelle.service.privacy.privacy import PrivacyService
from passerelle.service.safety import SafetyPolicy
from passerelle.service.stories.stories import StoryService
from passerelle.storage import open_store
from passerelle.storage.blobs import open_blobs
from passerelle.storage.business import (
    business_store_for,
    endpoint_store_for,
)
from passerelle.storage.leases import open_lease
from passerelle.storage.private_files import DIR_MODE, private_dir, tighten
from passerelle.storage.ratelimits import open_connection_slots, open_rate_limits
from passerelle.storage.server_secret import KEY_FILE, FileServerSecret

log = logging.getLogger("passerelle.server")


@dataclass(frozen=True, slots=True, kw_only=True)
class Adapters:
    """The outside world the graph is built on: what a test replaces. Nothing here is open yet."""

    store: Store
    broker: Broker
    rate_limits: RateLimits
    connection_slots: ConnectionSlots | None = None
    """The per-account connection cap's count across nodes (Redis); None for one node."""
    secret: FileServerSecret
    blobs: BlobStore
    clock: Clock
    ids: IdGenerator
    codes: CodeSender
    webhooks: HttpxWebhooks
    """The HTTP client that calls businesses' webhook URLs (closed with the rest)."""
    janitor_lease: Lease
    quality_lease: Lease
    """Held by one node at a time among those sharing the database: that node runs retention."""
    http: httpx.AsyncClient | None = None
    """The HTTP client of a code sender that calls a web service (closed with the rest)."""


def adapters(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    code_sender: CodeSender | None = None,
) -> Adapters:
    """The adapters the settings name: the only place (with ``storage`` and ``broker``'s openers)
    that chooses a concrete technology."""
    clock = clock or SystemClock()
    http = None
    if code_sender is None:
        http = httpx.AsyncClient(timeout=10.0)
        code_sender = code_sender_from_setting(settings.code_sender, http)
    return Adapters(
        store=open_store(settings.effective_database_url(), sqlite_synchronous=settings.sqlite_synchronous),
        broker=open_broker(settings.redis_url),
        rate_limits=open_rate_limits(
            settings.redis_url,
            clock,
            max_keys=settings.limits.rate_limit_keys,
            prefix=settings.redis_key_prefix,
        ),
        connection_slots=open_connection_slots(
            settings.redis_url,
            clock,
            ttl_s=settings.limits.connection_slot_ttl_s,
            prefix=settings.redis_key_prefix,
        ),
        secret=FileServerSecret(settings.data_dir / KEY_FILE, configured=settings.code_key),
        blobs=open_blobs(settings),
        clock=clock,
        ids=ids or RandomIds(),
        codes=code_sender,
        webhooks=HttpxWebhooks(max_connections=settings.webhook_concurrency),
        janitor_lease=open_lease(settings.effective_database_url(), "janitor"),
        quality_lease=open_lease(settings.effective_database_url(), "business-quality"),
        http=http,
    )


RESTART = 1012
"""The close code of a node going away (WebSocket "service restart"): reconnect now, maybe elsewhere."""


class Lifecycle:
    """Whether the node still wants new clients: False from the first SIGTERM (``/readyz`` 503)."""

    __slots__ = ("draining",)

    def __init__(self) -> None:
        self.draining = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Wired:
    """The built graph. Tests and the demo reach in here (for the clock, the janitor, the hub)."""

    settings: Settings
    adapters: Adapters
    store: Store
    clock: Clock
    metrics: Metrics
    limiter: RateLimiter
    safety: SafetyPolicy
    presence: Presence
    hub: Hub
    pipeline: SendPipeline
    directory: Directory
    messaging: MessagingService
    groups: GroupService
    accounts: AccountService
    keys: KeyService
    stories: StoryService
    media: MediaService
    privacy: PrivacyService
    business_admin: BusinessAdmin
    business_people: BusinessPeople
    endpoints: BusinessEndpoints
    cloud: CloudControl
    registration: WebhookRegistration
    blocks: BlockUsers
    business_sends: BusinessSends
    templates: Templates
    business_store: BusinessStore
    catalogs: Catalogs
    orders: Orders
    payments: Payments
    payment_provider: SandboxPayments
    signals: BusinessSignals
    feedback: BusinessFeedback
    quality: QualityEvaluation
    webhooks: Webhooks
    handoffs: HandOffs
    links: Links
    hosted: HostedEndpoints
    janitor: Janitor
    admission: Admission
    gateway: Gateway
    expiry: TokenExpiry
    fast_gateway: PicowsGateway | None
    lifecycle: Lifecycle

    async def stop_serving(self) -> None:
        """The end of a graceful shutdown, once nothing new is accepted: finish what was accepted (the
        messages already received are stored and their ``sent`` queued), then close every WebSocket
        with 1012 after the frames already queued for it."""
        self.lifecycle.draining = True
        await self.hosted.close()
        if self.fast_gateway is not None:
            self.fast_gateway.stop_listening()
        if not await self.pipeline.drain():
            log.warning("closing the WebSockets with messages still being stored")
        self.hub.close_all(RESTART, "service restart")

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[None]:
        """The adapters open (data directory, secret, store), and closed again on exit; no task runs.
        What a test of the services or the REST edge alone needs."""
        a = self.adapters
        await asyncio.to_thread(_private_data_dir, self.settings)
        await a.secret.open()
        await a.store.open()
        try:
            yield
        finally:
            await a.rate_limits.close()
            if a.connection_slots is not None:
                await a.connection_slots.close()
            await a.broker.close()
            await a.webhooks.aclose()
            if a.http is not None:
                await a.http.aclose()
            await a.store.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The server's lifespan: open everything, run the owned tasks (the pipeline's writer, the
        poke publisher, the janitor, presence, token expiry) in one TaskGroup, close in reverse."""
        settings = self.settings
        async with self.opened():
            await self.adapters.broker.start(self.expiry.on_broker_event)
            fast_gateway = self.fast_gateway
            if fast_gateway is not None:
                await fast_gateway.start_listening(settings.host, settings.ws_port or 0)
                log.info("fast WebSocket gateway listening", extra={"port": fast_gateway.port})
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self.pipeline.run(), name="pipeline"),
                    group.create_task(self.hub.run(), name="pokes"),
                    group.create_task(self.janitor.run(settings.janitor_interval_s), name="janitor"),
                    group.create_task(self.presence.run(), name="presence"),
                    group.create_task(self.expiry.run(), name="token-expiry"),
                    group.create_task(self.webhooks.run(), name="webhooks"),
                    group.create_task(
                        self.quality.run(
                            settings.business_quality_interval_s, lease=self.adapters.quality_lease
                        ),
                        name="business-quality",
                    ),
                    group.create_task(self.admission.run(), name="connection-slots"),
                ]
                if (fd_warning := fd_limit_warning(settings.limits.max_connections)) is not None:
                    log.warning(fd_warning)
                log.info("passerelle is ready", extra={"apps": [a.name for a in settings.apps]})
                try:
                    yield
                finally:
                    await self.hosted.close()  # clients of this very server: before it stops
                    self.lifecycle.draining = True
                    self.hub.close_all(RESTART, "service restart")
                    # Finish what was accepted into the pipeline (and its pokes) before stopping it.
                    if not await self.pipeline.drain():
                        log.warning("shutting down with messages still being stored")
                    if fast_gateway is not None:
                        await fast_gateway.close()
                    for task in tasks:
                        task.cancel()


def build(
    settings: Settings,
    adapters: Adapters,
    *,
    notices: DeviceNotices | None = None,
    keys_low: KeysLowHook | None = None,
) -> Wired:
    """Build the whole graph in dependency order; nothing is patched afterwards.

    ``notices`` and ``keys_low`` replace the messaging side's reactions to a device-list change and
    to a device running low on one-time keys (the unit tests of accounts and keys record them).
    """
    a = adapters
    store, broker, clock, ids = a.store, a.broker, a.clock, a.ids
    apps, limits = settings.apps, settings.limits
    metrics = Metrics()
    limiter = RateLimiter(a.rate_limits)
    safety = SafetyPolicy(store=store, broker=broker, clock=clock)
    caches = SendCaches(clock, also=safety.invalidate)
    presence = Presence(store=store, clock=clock)
    hub = Hub(
        mailbox=store,
        broker=broker,
        invalidate=caches.invalidate,
        metrics=metrics,
        on_presence=presence.seen,
        max_frame_bytes=limits.max_frame_bytes,
        now_ms=clock.now_ms,
    )
    pipeline = SendPipeline(
        store,
        on_committed=hub.on_committed,
        on_batch=metrics.on_batch,
        on_acks=metrics.on_acks,
        commit_delay_s=settings.commit_delay_s,
        ack_delay_s=settings.ack_delay_s,
    )
    directory = Directory(store=store, apps=apps, limiter=limiter, limits=limits, safety=safety)
    business_store = business_store_for(store)
    endpoint_store = endpoint_store_for(store)
    business_sends = BusinessSends(
        store=business_store,
        clock=clock,
        limiter=limiter,
        limits=limits,
        person_blocked=person_blocked_by(endpoint_store, safety),
    )
    traffic = BusinessTraffic(
        endpoints=endpoint_store, businesses=business_store, sends=business_sends, accounts=store, clock=clock
    )
    messaging = MessagingService(
        store=store,
        pipeline=pipeline,
        broker=broker,
        directory=directory,
        apps=apps,
        clock=clock,
        max_envelope_bytes=limits.max_envelope_bytes,
        max_targets=limits.max_targets,
        max_waiting_requests=limits.request_waiting_messages,
        safety=safety,
        caches=caches,
        business=traffic,
    )
    groups = GroupService(
        store=store,
        messaging=messaging,
        pipeline=pipeline,
        broker=broker,
        directory=directory,
        clock=clock,
        ids=ids,
    )
    accounts = AccountService(
        store=store,
        apps=apps,
        limits=limits,
        clock=clock,
        ids=ids,
        codes=a.codes,
        limiter=limiter,
        notices=notices or GroupDeviceNotices(messaging, groups),
        secret=a.secret,
    )
    keys = KeyService(
        store=store,
        limits=limits,
        clock=clock,
        limiter=limiter,
        directory=directory,
        on_keys_low=keys_low or messaging.keys_low,
    )
    stories = StoryService(
        store=store, safety=safety, clock=clock, ids=ids, blobs=BlobRemover(store=store, blobs=a.blobs)
    )
    media = MediaService(
        store=store,
        blobs=a.blobs,
        members=messaging,
        apps=apps,
        clock=clock,
        ids=ids,
        limits=limits,
        stories=stories,
    )
    biz = build_business(
        settings,
        store=store,
        business_store=business_store,
        endpoint_store=endpoint_store,
        business_sends=business_sends,
        accounts=accounts,
        safety=safety,
        limiter=limiter,
        metrics=metrics,
        http=a.webhooks,
        clock=clock,
        ids=ids,
    )
    privacy = PrivacyService(
        store=store,
        broker=broker,
        clock=clock,
        ids=ids,
        limiter=limiter,
        safety=safety,
        accounts=accounts,
        directory=directory,
        messaging=messaging,
        presence=presence,
        erasers=[stories.erase_account, media.erase_account, biz.people.erase_account, biz.links.forget],
        business=biz.people,
        on_block=biz.feedback.blocked,
        orders=biz.payments.export,
        links=biz.links.export,
    )
    janitor = Janitor(
        mailbox=store,
        clock=clock,
        idempotency_window_s=settings.idempotency_window_s,
        on_deleted=metrics.janitor_deleted.inc,
        also=[
            stories.delete_expired,
            media.delete_expired,
            biz.people.delete_expired,
            biz.quality.delete_expired,
            biz.handoffs.delete_expired,
            biz.orders.expire_unpaid,
        ],
        lease=a.janitor_lease,
        on_lease=metrics.janitor_leader.set,
    )
    admission = Admission(
        per_client=limits.max_connections_per_client,
        per_account=limits.max_connections_per_account,
        total=limits.max_connections,
        gauge=metrics.sockets,
        slots=a.connection_slots,
        refresh_s=limits.connection_slot_ttl_s / 3,
        unshared=metrics.connection_cap_unshared,
    )
    gateway = Gateway(
        hub=hub,
        accounts=accounts,
        messaging=messaging,
        pipeline=pipeline,
        keys=keys,
        limiter=limiter,
        limits=limits,
        metrics=metrics,
        clock=clock,
        admission=admission,
        business_send_rate=traffic.endpoint_send_rate,
    )
    expiry = TokenExpiry(
        hub.connections,
        clock,
        tokens=store,
        broker_events=hub.on_broker_event,
        interval_s=limits.token_check_interval_s,
    )
    fast_gateway = (
        PicowsGateway(
            gateway,
            max_frame_bytes=limits.max_frame_bytes,
            recv_buffer_bytes=limits.recv_buffer_bytes,
            proxies=TrustedProxies(settings.trusted_proxies),
        )
        if settings.ws_port is not None
        else None
    )
    return Wired(
        settings=settings,
        adapters=a,
        store=store,
        clock=clock,
        metrics=metrics,
        limiter=limiter,
        safety=safety,
        presence=presence,
        hub=hub,
        pipeline=pipeline,
        directory=directory,
        messaging=messaging,
        groups=groups,
        accounts=accounts,
        keys=keys,
        stories=stories,
        media=media,
        privacy=privacy,
        business_admin=biz.admin,
        business_people=biz.people,
        endpoints=biz.endpoints,
        cloud=biz.cloud,
        registration=biz.registration,
        blocks=biz.blocks,
        business_sends=business_sends,
        templates=biz.templates,
        business_store=business_store,
        catalogs=biz.catalogs,
        orders=biz.orders,
        payments=biz.payments,
        payment_provider=biz.payment_provider,
        signals=biz.signals,
        feedback=biz.feedback,
        quality=biz.quality,
        webhooks=biz.webhooks,
        handoffs=biz.handoffs,
        links=biz.links,
        hosted=biz.hosted,
        janitor=janitor,
        admission=admission,
        gateway=gateway,
        expiry=expiry,
        fast_gateway=fast_gateway,
        lifecycle=Lifecycle(),
    )


def _private_data_dir(settings: Settings) -> None:
    """The data directory and its blob folder are 0700 (created so, or tightened: docs/operations.md);
    the SQLite store and the key file see to their own files."""
    private_dir(settings.data_dir)
    tighten(settings.data_dir / "blobs", DIR_MODE)
