"""Hand-offs in the operator's admin API (docs/bots.md, "Hand-off"): the active hand-offs of a
business, take, hand back, resolve. The bot's request is a Graph route (``server.graph_handoffs``)."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.proto.openapi import Auth
from passerelle.proto.rest.handoffs import HandOffList, HandOffOut, TakeHandOff
from passerelle.server.auth import require_operator
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.business.handoff_ports import HandOffRecord
from passerelle.service.business.handoffs import HandOffs

PATH = "/v1/admin/businesses/{business}/handoffs"
TAG = "Admin: businesses"
admin = partial(route, auth=Auth.ADMIN, tag=TAG)


def handoff_out(record: HandOffRecord) -> HandOffOut:
    return HandOffOut(
        handoff_id=record.id,
        business_id=record.business,
        phone_number_id=record.number,
        user_id=record.user_id,
        summary=record.summary,
        reason=record.reason,
        status=record.status.value,
        agent=record.agent or None,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class HandOffRoutes:
    def __init__(self, *, handoffs: HandOffs, admin_token: str) -> None:
        self._handoffs = handoffs
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            admin(
                "GET",
                PATH,
                self.active,
                summary="A business's open and taken hand-offs",
                answers={200: HandOffList},
            ),
            admin(
                "POST",
                PATH + "/{handoff}/take",
                self.take,
                summary="An agent takes a hand-off (the bot stays silent)",
                body=TakeHandOff,
                answers={200: HandOffOut},
            ),
            admin(
                "POST",
                PATH + "/{handoff}/hand-back",
                self.hand_back,
                summary="Give the conversation back to the bot",
                answers={200: HandOffOut},
            ),
            admin(
                "POST",
                PATH + "/{handoff}/resolve",
                self.resolve,
                summary="Resolve a hand-off (the bot speaks again)",
                answers={200: HandOffOut},
            ),
        ]

    def _operator(self, request: Request) -> tuple[str, str]:
        require_operator(request, self._admin_token, api="admin")
        return request.path_params["business"], request.path_params.get("handoff", "")

    @endpoint
    async def active(self, request: Request) -> Response:
        business, _ = self._operator(request)
        found = await self._handoffs.active(business)
        return json_response(HandOffList(handoffs=[handoff_out(h) for h in found]))

    @endpoint
    async def take(self, request: Request) -> Response:
        business, handoff = self._operator(request)
        body = await read_body(request, TakeHandOff)
        return json_response(handoff_out(await self._handoffs.take(business, handoff, body.agent)))

    @endpoint
    async def hand_back(self, request: Request) -> Response:
        business, handoff = self._operator(request)
        return json_response(handoff_out(await self._handoffs.hand_back(business, handoff)))

    @endpoint
    async def resolve(self, request: Request) -> Response:
        business, handoff = self._operator(request)
        return json_response(handoff_out(await self._handoffs.resolve(business, handoff)))
