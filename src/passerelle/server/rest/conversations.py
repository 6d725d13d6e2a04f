"""REST: conversations and disappearing timers (docs/protocol.md §4.9), health and metrics (§4.10)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.errors import DomainError
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.openapi import Auth, Raw
from passerelle.proto.rest import conversations as wire
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.metrics import Metrics
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.messaging.messaging import MessagingService
from passerelle.service.ports import Store
from passerelle.service.records import ConversationRecord, Sender

TAG = "Conversations"
OPS = "Operations"
NONE = Auth.NONE


def conversation_json(conv: ConversationRecord) -> wire.ConversationInfo:
    return wire.ConversationInfo(
        conv=conv.id, kind=conv.kind.value, members=list(conv.members), timer=conv.timer_s
    )


class ConversationRoutes:
    def __init__(self, *, accounts: AccountService, messaging: MessagingService) -> None:
        self._accounts = accounts
        self._messaging = messaging

    async def _caller(self, request: Request) -> Sender:
        return (await request_caller(request, self._accounts)).sender

    @endpoint
    async def open_direct(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.OpenDirect)
        conv = await self._messaging.open_direct(caller.account, AccountId(body.with_))
        return json_response(conversation_json(conv))

    @endpoint
    async def list_all(self, request: Request) -> Response:
        caller = await self._caller(request)
        convs = await self._messaging.list_conversations(caller.account.id)
        return json_response(wire.Conversations(conversations=[conversation_json(c) for c in convs]))

    @endpoint
    async def set_timer(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.SetTimer)
        conv = await self._messaging.set_timer(
            caller, ConversationId(request.path_params["conv"]), body.timer
        )
        return json_response(conversation_json(conv))

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/conversations",
                self.open_direct,
                body=wire.OpenDirect,
                answers={200: wire.ConversationInfo},
                tag=TAG,
                summary="Open a direct conversation",
            ),
            route(
                "GET",
                "/v1/conversations",
                self.list_all,
                answers={200: wire.Conversations},
                tag=TAG,
                summary="The caller's conversations",
            ),
            route(
                "PUT",
                "/v1/conversations/{conv}/timer",
                self.set_timer,
                body=wire.SetTimer,
                answers={200: wire.ConversationInfo},
                tag=TAG,
                summary="Set a conversation's disappearing-message timer",
            ),
        ]


def ops_routes(store: Store, metrics: Metrics, draining: Callable[[], bool]) -> list[BaseRoute]:
    """``/readyz`` is 503 while ``draining()`` (a node shutting down) or when the store is down."""

    async def healthz(request: Request) -> Response:
        return json_response(wire.Health(status="ok"))

    async def readyz(request: Request) -> Response:
        ok = False
        try:
            ok = not draining() and await store.ping()
        except DomainError:
            ok = False
        return json_response(wire.Health(status="ready" if ok else "unavailable"), status=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        route(
            "GET",
            "/healthz",
            healthz,
            answers={200: wire.Health},
            auth=NONE,
            tag=OPS,
            summary="The process is alive",
        ),
        route(
            "GET",
            "/readyz",
            readyz,
            answers={200: wire.Health, 503: wire.Health},
            auth=NONE,
            tag=OPS,
            summary="The node takes traffic (503 while draining or when the store is down)",
        ),
        route(
            "GET",
            "/metrics",
            metrics_endpoint,
            answers={200: Raw(CONTENT_TYPE_LATEST, "Prometheus text")},
            auth=NONE,
            tag=OPS,
            summary="Prometheus metrics",
        ),
    ]
