"""The composition root: the only place that names concrete adapters.

``create_app(settings)`` builds nothing that does I/O; its lifespan opens the store and the broker,
starts the owned background tasks (the pipeline's writer, the poke publisher, the janitor) and
closes everything in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import WebSocketRoute

from passerelle.broker import open_broker
from passerelle.config import Settings
from passerelle.server.body_limit import BodyLimit
from passerelle.server.codes import code_sender_from_setting
from passerelle.server.cors import Cors
from passerelle.server.errors import http_exception_handler
from passerelle.server.graph import GraphPaths, GraphRoutes
from passerelle.server.logs import AccessLog
from passerelle.server.metrics import Metrics
from passerelle.server.rest import RestServices, rest_routes
from passerelle.server.rest.business import BusinessRoutes
from passerelle.server.rest.conversations import ConversationRoutes, ops_routes
from passerelle.server.rest.groups import GroupRoutes
from passerelle.server.rest.media import UPLOAD_PREFIX, MediaRoutes
from passerelle.server.rest.privacy import PrivacyRoutes
from passerelle.server.rest.stories import StoryRoutes
from passerelle.server.system import RandomIds, SystemClock
from passerelle.server.web import WebApps
from passerelle.server.ws.admission import Admission, fd_limit_warning
from passerelle.server.ws.asgi import AsgiGateway
from passerelle.server.ws.expiry import TokenExpiry
from passerelle.server.ws.gateway import Gateway
from passerelle.server.ws.hub import Hub
from passerelle.server.ws.picows import PicowsGateway
from passerelle.service.accounts import AccountService
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.cloud import BlockUsers, CloudControl
from passerelle.service.business.people import BusinessPeople
from passerelle.service.directory import Directory
from passerelle.service.groups import GroupDeviceNotices, GroupService
from passerelle.service.janitor import Janitor
from passerelle.service.keys import KeyService
from passerelle.service.limiter import RateLimiter
from passerelle.service.media import MediaService
from passerelle.service.messaging import MessagingService
from passerelle.service.pipeline import SendPipeline
from passerelle.service.ports import Clock, CodeSender, IdGenerator, Store
from passerelle.service.presence import Presence
from passerelle.service.privacy import PrivacyService
from passerelle.service.safety import SafetyPolicy
from passerelle.service.stories import StoryService
from passerelle.storage import open_store
from passerelle.storage.blobs.files import LocalBlobStore
from passerelle.storage.business import business_store_for
from passerelle.storage.private_files import DIR_MODE, private_dir, tighten
from passerelle.storage.ratelimits import open_rate_limits
from passerelle.storage.server_secret import KEY_FILE, FileServerSecret

log = logging.getLogger("passerelle.server")


@dataclass(frozen=True, slots=True)
class Services:
    """What the app built; tests and the demo reach in here (for the clock, the janitor, the hub)."""

    store: Store
    hub: Hub
    pipeline: SendPipeline
    messaging: MessagingService
    accounts: AccountService
    keys: KeyService
    directory: Directory
    janitor: Janitor
    metrics: Metrics
    clock: Clock
    fast_gateway: PicowsGateway | None
    groups: GroupService
    media: MediaService
    privacy: PrivacyService
    stories: StoryService
    admission: Admission
    expiry: TokenExpiry


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    code_sender: CodeSender | None = None,
) -> Starlette:
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    limits = settings.limits
    metrics = Metrics()
    store = open_store(settings.effective_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
    broker = open_broker(settings.redis_url)
    http = httpx.AsyncClient(timeout=10.0)
    secret = FileServerSecret(settings.data_dir / KEY_FILE, configured=settings.code_key)
    rate_limits = open_rate_limits(
        settings.redis_url, clock, max_keys=limits.rate_limit_keys, prefix=settings.redis_key_prefix
    )
    limiter = RateLimiter(rate_limits)
    directory = Directory(store=store, apps=settings.apps, limiter=limiter, limits=limits)
    safety = SafetyPolicy(store=store, broker=broker, clock=clock)
    pipeline = SendPipeline(store, on_batch=metrics.on_batch, commit_delay_s=settings.commit_delay_s)
    messaging = MessagingService(
        store=store,
        pipeline=pipeline,
        broker=broker,
        directory=directory,
        apps=settings.apps,
        clock=clock,
        max_envelope_bytes=limits.max_envelope_bytes,
        max_targets=limits.max_targets,
        max_waiting_requests=limits.request_waiting_messages,
        safety=safety,
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
        apps=settings.apps,
        limits=limits,
        clock=clock,
        ids=ids,
        codes=code_sender or code_sender_from_setting(settings.code_sender, http),
        limiter=limiter,
        notices=GroupDeviceNotices(messaging, groups),
        secret=secret,
    )
    keys = KeyService(
        store=store,
        limits=limits,
        clock=clock,
        limiter=limiter,
        directory=directory,
        on_keys_low=messaging.keys_low,
    )
    media = MediaService(
        store=store,
        blobs=LocalBlobStore(settings.data_dir / "blobs"),
        members=messaging,
        apps=settings.apps,
        clock=clock,
        ids=ids,
        limits=limits,
    )
    stories = StoryService(store=store, safety=safety, clock=clock, ids=ids, blobs=media)
    media.stories = stories
    hub = Hub(
        mailbox=store,
        broker=broker,
        messaging=messaging,
        metrics=metrics,
        max_frame_bytes=limits.max_frame_bytes,
    )
    business_store = business_store_for(store)
    business_admin = BusinessAdmin(store=business_store, clock=clock, ids=ids)
    business_people = BusinessPeople(store=business_store, clock=clock)
    presence = Presence(store=store, clock=clock)
    hub.on_presence = presence.seen
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
        erasers=[stories.erase_account, media.erase_account, business_people.erase_account],
        business=business_people,
    )
    directory.safety = privacy
    pipeline.on_committed = hub.on_committed
    janitor = Janitor(
        mailbox=store,
        clock=clock,
        idempotency_window_s=settings.idempotency_window_s,
        on_deleted=metrics.janitor_deleted.inc,
        also=[stories.delete_expired, media.delete_expired, business_people.delete_expired],
    )
    admission = Admission(
        per_client=limits.max_connections_per_client,
        per_account=limits.max_connections_per_account,
        total=limits.max_connections,
        gauge=metrics.sockets,
    )
    gateway = Gateway(
        hub=hub,
        accounts=accounts,
        messaging=messaging,
        pipeline=pipeline,
        store=store,
        limiter=limiter,
        limits=limits,
        metrics=metrics,
        clock=clock,
        admission=admission,
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
            gateway, max_frame_bytes=limits.max_frame_bytes, recv_buffer_bytes=limits.recv_buffer_bytes
        )
        if settings.ws_port is not None
        else None
    )
    services = Services(
        store=store,
        hub=hub,
        pipeline=pipeline,
        messaging=messaging,
        accounts=accounts,
        keys=keys,
        directory=directory,
        janitor=janitor,
        metrics=metrics,
        clock=clock,
        fast_gateway=fast_gateway,
        groups=groups,
        media=media,
        privacy=privacy,
        stories=stories,
        admission=admission,
        expiry=expiry,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(_private_data_dir, settings)
        await secret.open()
        await store.open()
        try:
            await broker.start(expiry.on_broker_event)
            if fast_gateway is not None:
                await fast_gateway.start_listening(settings.host, settings.ws_port or 0)
                log.info("fast WebSocket gateway listening", extra={"port": fast_gateway.port})
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(pipeline.run(), name="pipeline"),
                    group.create_task(hub.run(), name="pokes"),
                    group.create_task(janitor.run(settings.janitor_interval_s), name="janitor"),
                    group.create_task(presence.run(), name="presence"),
                    group.create_task(expiry.run(), name="token-expiry"),
                ]
                if (fd_warning := fd_limit_warning(limits.max_connections)) is not None:
                    log.warning(fd_warning)
                log.info("passerelle is ready", extra={"apps": [a.name for a in settings.apps]})
                try:
                    yield
                finally:
                    hub.close_all()
                    # Finish what was accepted into the pipeline (and its pokes) before stopping it.
                    if not await pipeline.drain():
                        log.warning("shutting down with messages still being stored")
                    if fast_gateway is not None:
                        await fast_gateway.close()
                    for task in tasks:
                        task.cancel()
        finally:
            await rate_limits.close()
            await broker.close()
            await http.aclose()
            await store.close()

    conversations = ConversationRoutes(accounts=accounts, messaging=messaging, store=store)
    rest = RestServices(accounts=accounts, keys=keys, directory=directory, apps=settings.apps, limits=limits)
    routes = [
        *rest_routes(rest),
        *conversations.routes(),
        *GroupRoutes(accounts=accounts, groups=groups, store=store).routes(),
        *ops_routes(store, metrics),
        *PrivacyRoutes(
            accounts=accounts, privacy=privacy, clock=clock, admin_token=settings.admin_token
        ).routes(),
        *MediaRoutes(accounts=accounts, media=media).routes(),
        *StoryRoutes(accounts=accounts, stories=stories).routes(),
        *BusinessRoutes(
            accounts=accounts, admin=business_admin, people=business_people, admin_token=settings.admin_token
        ).routes(),
        WebSocketRoute("/v1/ws", AsgiGateway(gateway)),
        *WebApps(settings.apps).routes(),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_exception_handler}
    )
    cloud = CloudControl(store=business_store, admin=business_admin)
    blocks = BlockUsers(store=business_store, cloud=cloud, clock=clock)
    app.add_middleware(GraphPaths, graph=GraphRoutes(cloud, blocks).app())
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, exempt_prefixes=(UPLOAD_PREFIX,))
    app.add_middleware(Cors, origins=settings.apps.allowed_origins)
    app.add_middleware(AccessLog)
    app.state.services = services
    app.state.settings = settings
    return app


def _private_data_dir(settings: Settings) -> None:
    """The data directory and its blob folder are 0700 (created so, or tightened: docs/operations.md);
    the SQLite store and the key file see to their own files."""
    private_dir(settings.data_dir)
    tighten(settings.data_dir / "blobs", DIR_MODE)
