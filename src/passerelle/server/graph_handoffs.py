"""``POST /{phone_number_id}/handoffs`` (docs/bots.md, "Hand-off"): a business's bot hands a
customer's conversation to a person, with its system-user token, among the Graph routes
(``GraphRoutes(extra=…)``); a self-run endpoint forwards it like every control-plane call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.errors import DomainError
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.handoffs import HandOffAnswer, HandOffRequest
from passerelle.proto.openapi import Auth
from passerelle.server.declared import check_auth, check_body, graph_route
from passerelle.server.graph import error_of
from passerelle.service.business.cloud import CloudControl
from passerelle.service.business.handoffs import HandOffs

JSON = "application/json"


class HandOffGraphRoutes:
    """``POST /{phone_number_id}/handoffs`` among the Graph routes (``GraphRoutes(extra=…)``)."""

    def __init__(self, *, cloud: CloudControl, handoffs: HandOffs) -> None:
        self._cloud = cloud
        self._handoffs = handoffs

    def routes(self) -> list[BaseRoute]:
        return [
            graph_route(
                "POST",
                "/{phone_number_id}/handoffs",
                self.request,
                body=HandOffRequest,
                answers={200: HandOffAnswer},
                summary="Hand a customer's conversation to a person (Passerelle)",
                description="The bot's summary is kept as written (at most 4096 characters); the "
                "person's active hand-off is answered when there is one. Changes come as webhooks "
                "with field passerelle_handoffs (docs/bots.md).",
            )
        ]

    async def request(self, request: Request) -> Response:
        try:
            check_auth(request, Auth.SYSTEM_USER)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            caller = await self._cloud.authenticate(token.strip() if scheme.lower() == "bearer" else "")
            check_body(request, HandOffRequest)
            body = decode(await request.body(), HandOffRequest)
            record, created = await self._handoffs.request(
                caller, request.path_params["phone_number_id"], body
            )
        except (DomainError, CloudBodyError) as exc:
            return error_of(exc)
        answer = HandOffAnswer(handoff_id=record.id, status=record.status.value, created=created)
        return Response(encode(answer), media_type=JSON)
