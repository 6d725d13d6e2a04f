"""Business endpoints (docs/business.md section 4, docs/protocol.md section 15.4): the operator
issues enrolment tokens (``POST /v1/admin/businesses/{business}/enrolments``, ``admin_token``); an
endpoint enrols with one (``POST /v1/business-endpoints``), then, as a device, sends its signed
hosting statement (``PUT /v1/business-endpoint/statement``) and reads what it needs to serve its bot
(``GET /v1/business-endpoint``)."""

from __future__ import annotations

from typing import Protocol

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.ids import business_address
from passerelle.domain.errors import Forbidden, NotFound, Unavailable
from passerelle.domain.ids import AccountId
from passerelle.proto.openapi import Auth, Param
from passerelle.proto.rest.business import (
    BusinessPersonOut,
    EndpointConfig,
    EndpointGrant,
    EndpointNumber,
    EndpointTemplateOut,
    EndpointWebhook,
    EnrolEndpoint,
    EnrolmentOut,
    HostingOut,
    IssueEnrolment,
    SetStatement,
)
from passerelle.server.auth import request_caller, require_operator
from passerelle.server.declared import route
from passerelle.server.rest.accounts import new_device
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.endpoint_ports import EndpointRecord
from passerelle.service.business.endpoints import BusinessEndpoints
from passerelle.service.business.people import BusinessPeople
from passerelle.service.business.templates import Templates
from passerelle.service.business.webhooks import Webhooks


class Hosting(Protocol):
    """Runs hosted endpoints in this server (``server.endpoint.hosted``)."""

    async def host(self, business: str) -> EndpointRecord: ...


TAG = "Business endpoints"
ADMIN_TAG = "Admin: businesses"


def hosting_out(e: EndpointRecord) -> HostingOut:
    return HostingOut(device_id=e.device, mode=e.mode.value, statement=e.statement, signature=e.signature)


class EndpointRoutes:
    def __init__(
        self,
        *,
        accounts: AccountService,
        admin: BusinessAdmin,
        people: BusinessPeople,
        endpoints: BusinessEndpoints,
        webhooks: Webhooks,
        templates: Templates,
        admin_token: str,
        hosted: Hosting | None = None,
    ) -> None:
        self._templates = templates
        self._hosted = hosted
        self._accounts = accounts
        self._admin = admin
        self._people = people
        self._endpoints = endpoints
        self._webhooks = webhooks
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/admin/businesses/{business}/enrolments",
                self.issue,
                body=IssueEnrolment,
                answers={201: EnrolmentOut},
                auth=Auth.ADMIN,
                tag=ADMIN_TAG,
                summary="Issue a one-time enrolment token for a business's endpoint",
            ),
            route(
                "POST",
                "/v1/admin/businesses/{business}/endpoint",
                self.host,
                answers={201: HostingOut},
                auth=Auth.ADMIN,
                tag=ADMIN_TAG,
                summary="Host a business's endpoint on this server",
            ),
            route(
                "POST",
                "/v1/business-endpoints",
                self.enrol,
                body=EnrolEndpoint,
                answers={201: EndpointGrant},
                auth=Auth.NONE,
                tag=TAG,
                summary="Enrol a business endpoint with an enrolment token",
            ),
            route(
                "PUT",
                "/v1/business-endpoint/statement",
                self.statement,
                body=SetStatement,
                answers={200: HostingOut},
                tag=TAG,
                summary="Store the endpoint's signed hosting statement",
            ),
            route(
                "GET",
                "/v1/business-endpoint",
                self.config,
                answers={200: EndpointConfig},
                tag=TAG,
                summary="The endpoint's business, numbers and webhook",
            ),
            route(
                "GET",
                "/v1/business-endpoint/people",
                self.person,
                answers={200: BusinessPersonOut},
                query={"account_id": Param(str), "wa_id": Param(str), "user_id": Param(str)},
                tag=TAG,
                summary="A person by account, wa_id or user_id, as this business knows them",
            ),
            route(
                "GET",
                "/v1/business-endpoint/templates",
                self.template,
                answers={200: EndpointTemplateOut},
                query={"waba_id": Param(str), "name": Param(str), "language": Param(str)},
                tag=TAG,
                summary="A template of this business, for the endpoint to render a send of it",
            ),
        ]

    @endpoint
    async def issue(self, request: Request) -> Response:
        require_operator(request, self._admin_token, api="admin")
        body = await read_body(request, IssueEnrolment)
        made = await self._endpoints.issue(request.path_params["business"], body.mode)
        out = EnrolmentOut(
            business_id=made.business, mode=made.mode.value, token=made.token, expires_at=made.expires_at
        )
        return json_response(out, status=201)

    @endpoint
    async def host(self, request: Request) -> Response:
        """The operator runs the business's endpoint in this server (hosted)."""
        require_operator(request, self._admin_token, api="admin")
        if self._hosted is None:
            raise Unavailable("this server runs no hosted endpoints")
        made = await self._hosted.host(request.path_params["business"])
        return json_response(hosting_out(made), status=201)

    @endpoint
    async def enrol(self, request: Request) -> Response:
        body = await read_body(request, EnrolEndpoint)
        made = await self._endpoints.enrol(body.enrolment_token, new_device(body.device))
        s = made.session
        out = EndpointGrant(
            account_id=s.account,
            device_id=s.device,
            token=s.token,
            expires_at=s.expires_at,
            address=str(s.address),
            business_id=made.business.id,
            mode=made.mode.value,
            operator=made.operator,
        )
        return json_response(out, status=201)

    @endpoint
    async def statement(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        body = await read_body(request, SetStatement)
        stored = await self._endpoints.state(caller, body.statement, body.signature)
        return json_response(hosting_out(stored))

    async def _mine(self, request: Request) -> EndpointRecord:
        caller = await request_caller(request, self._accounts)
        mine = await self._endpoints.by_account(caller.account)
        if mine is None or mine.device != caller.device:
            mine = await self._endpoints.by_account(caller.account, fresh=True)
        if mine is None or mine.device != caller.device:
            raise Forbidden("only a business's current endpoint may call this")
        return mine

    @endpoint
    async def person(self, request: Request) -> Response:
        mine = await self._mine(request)
        q = request.query_params
        account = q.get("account_id")
        found = await self._people.person(
            mine.business,
            account=None if account is None else AccountId(account),
            wa_id=q.get("wa_id"),
            user_id=q.get("user_id"),
        )
        if account is None:  # whom a reply to these ids reaches
            found, linked = await self._people.reply_route(mine.business, found)
        else:
            linked = await self._people.shares(mine.business, found.account)
        return json_response(
            BusinessPersonOut(
                account_id=found.account, wa_id=found.wa_id, user_id=found.user_id, linked=linked
            )
        )

    @endpoint
    async def template(self, request: Request) -> Response:
        mine = await self._mine(request)
        q = request.query_params
        found = await self._templates.for_send(
            mine.business, q.get("waba_id", ""), q.get("name", ""), q.get("language", "")
        )
        if found is None:
            raise NotFound("no such template")
        return json_response(
            EndpointTemplateOut(
                name=found.name,
                language=found.language,
                category=found.category.value,
                parameter_format=found.parameter_format,
                components=msgspec.Raw(found.components.encode()),
                status=found.status.value,
            )
        )

    @endpoint
    async def config(self, request: Request) -> Response:
        mine = await self._mine(request)
        business = await self._admin.get(mine.business)
        numbers = await self._admin.numbers(mine.business)
        hook = await self._webhooks.config_of(mine.business)
        out = EndpointConfig(
            business_id=business.id,
            address=business_address(business.slug),
            name=business.profile.name,
            mode=mine.mode.value,
            operator=self._endpoints.operator,
            numbers=[
                EndpointNumber(phone_number_id=n.id, display_phone_number=n.display_number, waba_id=n.waba)
                for n in numbers
            ],
            webhook=None
            if hook is None
            else EndpointWebhook(callback_url=hook.callback_url, app_secret=hook.app_secret),
        )
        return json_response(out)
