"""The ASGI app: a thin Starlette assembly over the graph that ``server.wiring`` builds.

``create_app(settings)`` builds nothing that does I/O; its lifespan is ``Wired.running()``, which
opens the store and the broker, starts the owned background tasks and closes everything in reverse
order.
"""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, WebSocketRoute

from passerelle.config import Settings
from passerelle.server.apidocs import ApiDocs
from passerelle.server.body_limit import BodyLimit
from passerelle.server.cors import Cors
from passerelle.server.declared import operations, undeclared
from passerelle.server.endpoint.media_http import MEDIA_UPLOAD_PATH
from passerelle.server.errors import http_exception_handler
from passerelle.server.graph import GraphPaths, GraphRoutes, too_large
from passerelle.server.graph_commerce import CommerceGraph
from passerelle.server.graph_handoffs import HandOffGraphRoutes
from passerelle.server.graph_registration import RegistrationRoutes
from passerelle.server.logs import AccessLog
from passerelle.server.rest import RestServices, rest_routes
from passerelle.server.rest.business import BusinessRoutes
from passerelle.server.rest.business_reports import BusinessReportRoutes
from passerelle.server.rest.commerce import CommerceRoutes
from passerelle.server.rest.conversations import ConversationRoutes, ops_routes
from passerelle.server.rest.endpoints import EndpointRoutes
from passerelle.server.rest.groups import GroupRoutes
from passerelle.server.rest.handoffs import HandOffRoutes
from passerelle.server.rest.links import LinkRoutes
from passerelle.server.rest.media import UPLOAD_PREFIX, MediaRoutes
from passerelle.server.rest.privacy import PrivacyRoutes
from passerelle.server.rest.stories import StoryRoutes
from passerelle.server.rest.webhooks import WebhookRoutes
from passerelle.server.web import WebApps
from passerelle.server.wiring import Wired, adapters, build
from passerelle.server.ws.asgi import AsgiGateway
from passerelle.service.ports import Clock, CodeSender, IdGenerator


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    code_sender: CodeSender | None = None,
) -> Starlette:
    """The server for these settings: the graph of ``server.wiring``, served by Starlette."""
    return asgi_app(build(settings, adapters(settings, clock=clock, ids=ids, code_sender=code_sender)))


def asgi_app(wired: Wired) -> Starlette:
    """Every route and middleware over a built graph; the lifespan runs it."""
    settings = wired.settings
    limits = settings.limits
    accounts, messaging, metrics, store = wired.accounts, wired.messaging, wired.metrics, wired.store

    def lifespan(app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        return wired.running()

    conversations = ConversationRoutes(accounts=accounts, messaging=messaging)
    rest = RestServices(
        accounts=accounts,
        keys=wired.keys,
        directory=wired.directory,
        apps=settings.apps,
        limits=limits,
        stop_words=settings.business_stop_words,
    )
    handoff_requests = HandOffGraphRoutes(cloud=wired.cloud, handoffs=wired.handoffs).routes()
    registration = RegistrationRoutes(wired.cloud, wired.registration).routes()
    commerce_graph = CommerceGraph(
        cloud=wired.cloud,
        businesses=wired.business_store,
        clock=wired.clock,
        catalogs=wired.catalogs,
        orders=wired.orders,
        payments=wired.payments,
        links=wired.links,
    )
    graph = GraphRoutes(
        wired.cloud,
        wired.blocks,
        wired.hosted,
        wired.templates,
        extra=[*handoff_requests, *registration, *commerce_graph.routes()],
    ).app()
    api: list[BaseRoute] = [
        *rest_routes(rest),
        *conversations.routes(),
        *GroupRoutes(accounts=accounts, groups=wired.groups).routes(),
        *ops_routes(store, metrics, lambda: wired.lifecycle.draining),
        *PrivacyRoutes(
            accounts=accounts, privacy=wired.privacy, clock=wired.clock, admin_token=settings.admin_token
        ).routes(),
        *MediaRoutes(accounts=accounts, media=wired.media).routes(),
        *StoryRoutes(accounts=accounts, stories=wired.stories).routes(),
        *BusinessRoutes(
            accounts=accounts,
            admin=wired.business_admin,
            people=wired.business_people,
            endpoints=wired.endpoints,
            templates=wired.templates,
            admin_token=settings.admin_token,
        ).routes(),
        *EndpointRoutes(
            accounts=accounts,
            admin=wired.business_admin,
            people=wired.business_people,
            endpoints=wired.endpoints,
            webhooks=wired.webhooks,
            templates=wired.templates,
            admin_token=settings.admin_token,
            hosted=wired.hosted,
        ).routes(),
        *WebhookRoutes(webhooks=wired.webhooks, admin_token=settings.admin_token).routes(),
        *HandOffRoutes(handoffs=wired.handoffs, admin_token=settings.admin_token).routes(),
        *BusinessReportRoutes(
            accounts=accounts, feedback=wired.feedback, admin_token=settings.admin_token
        ).routes(),
        *CommerceRoutes(
            accounts=accounts, catalogs=wired.catalogs, orders=wired.orders, payments=wired.payments
        ).routes(),
        *LinkRoutes(accounts=accounts, links=wired.links).routes(),
    ]
    missing = undeclared([*api, *graph.routes])
    if missing:
        raise RuntimeError(f"routes without a declaration (server.declared.route): {missing}")
    pages = WebApps(settings.apps)
    docs = ApiDocs(people=operations(api), business=operations(graph.routes), files=pages)
    routes = [
        *api,
        WebSocketRoute("/v1/ws", AsgiGateway(wired.gateway)),
        *pages.routes(),
        *docs.routes(),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_exception_handler}
    )
    # Each API refuses an oversized body in its own error envelope.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, exempt_prefixes=(UPLOAD_PREFIX,))
    graph_limited = BodyLimit(
        graph, max_bytes=limits.max_body_bytes, refusal=too_large, exempt_paths=MEDIA_UPLOAD_PATH
    )
    app.add_middleware(GraphPaths, graph=graph_limited)
    app.add_middleware(Cors, origins=settings.apps.allowed_origins)
    app.add_middleware(AccessLog)
    app.state.services = wired
    app.state.settings = settings
    wired.hosted.use_app(app)
    return app
