"""REST endpoints of businesses (docs/protocol.md §15, docs/business.md): the operator's
admin API under ``/v1/admin/businesses`` (``admin_token``, compared in constant time; empty turns it
off), and what people call: finding a business by ``biz:`` address or display number, and their
consents. Bodies are ``proto.business`` Structs."""

from __future__ import annotations

from functools import partial

from msgspec import UNSET, Raw
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.ids import business_address
from passerelle.domain.errors import InvalidInput
from passerelle.proto.openapi import Auth, Param
from passerelle.proto.rest.business import (
    AdminBusinessList,
    AdminBusinessOut,
    AdminTemplateList,
    AdminTemplateOut,
    BusinessAccountOut,
    ConsentList,
    ConsentOut,
    CreateBusiness,
    CreateBusinessAccount,
    CreateNumber,
    CreateToken,
    NumberOut,
    PublicBusiness,
    RejectTemplate,
    SetConsent,
    TokenList,
    TokenOut,
    UpdateBusiness,
)
from passerelle.server.auth import request_caller, require_operator
from passerelle.server.declared import route
from passerelle.server.rest.endpoints import hosting_out
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.endpoint_ports import EndpointRecord
from passerelle.service.business.endpoints import BusinessEndpoints
from passerelle.service.business.people import BusinessPeople, FoundBusiness
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessProfile,
    BusinessRecord,
    ConsentRecord,
    NumberRecord,
    SystemTokenRecord,
    TemplateRecord,
)
from passerelle.service.business.templates import Templates

ADMIN = "/v1/admin/businesses"
TEMPLATES = "/v1/admin/templates"
PEOPLE = "Businesses"
admin = partial(route, auth=Auth.ADMIN, tag="Admin: businesses")


def account_out(a: BusinessAccountRecord) -> BusinessAccountOut:
    return BusinessAccountOut(
        waba_id=a.id, name=a.name, messaging_limit_tier=a.tier.wire, created_at=a.created_at
    )


def number_out(n: NumberRecord) -> NumberOut:
    return NumberOut(
        phone_number_id=n.id,
        waba_id=n.waba,
        display_phone_number=f"+{n.display_number}",
        quality_rating=n.quality.value,
        created_at=n.created_at,
    )


def token_out(t: SystemTokenRecord, token: str | None = None) -> TokenOut:
    return TokenOut(
        token_id=t.id,
        label=t.label,
        created_at=t.created_at,
        revoked_at=UNSET if t.revoked_at is None else t.revoked_at,
        token=UNSET if token is None else token,
    )


def admin_out(
    b: BusinessRecord, accounts: list[BusinessAccountRecord], numbers: list[NumberRecord]
) -> AdminBusinessOut:
    p = b.profile
    return AdminBusinessOut(
        business_id=b.id,
        address=business_address(b.slug),
        slug=b.slug,
        name=p.name,
        about=p.about,
        description=p.description,
        logo_url=p.logo_url,
        website=p.website,
        email=p.email,
        category=p.category,
        verified=b.verified,
        created_at=b.created_at,
        accounts=[account_out(a) for a in accounts],
        numbers=[number_out(n) for n in numbers],
    )


def public_out(found: FoundBusiness, endpoint: EndpointRecord | None = None) -> PublicBusiness:
    b, p = found.business, found.business.profile
    return PublicBusiness(
        business_id=b.id,
        address=business_address(b.slug),
        name=p.name,
        about=p.about,
        description=p.description,
        logo_url=p.logo_url,
        website=p.website,
        email=p.email,
        category=p.category,
        verified=b.verified,
        numbers=[f"+{n.display_number}" for n in found.numbers],
        account_id=UNSET if endpoint is None else endpoint.account,
        endpoint=UNSET if endpoint is None else hosting_out(endpoint),
    )


def template_admin_out(t: TemplateRecord) -> AdminTemplateOut:
    return AdminTemplateOut(
        template_id=t.id,
        waba_id=t.waba,
        name=t.name,
        language=t.language,
        category=t.category.value,
        parameter_format=t.parameter_format,
        status=t.status.value,
        quality=t.quality.value,
        rejected_reason=t.rejected_reason,
        pauses=t.pauses,
        paused_until=t.paused_until,
        components=Raw(t.components.encode()),
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def consent_out(c: ConsentRecord) -> ConsentOut:
    return ConsentOut(
        business_id=c.business, scope=c.scope.value, state=c.state.value, source=c.source.value, at=c.at
    )


class BusinessRoutes:
    def __init__(
        self,
        *,
        accounts: AccountService,
        admin: BusinessAdmin,
        people: BusinessPeople,
        endpoints: BusinessEndpoints,
        templates: Templates,
        admin_token: str,
    ) -> None:
        self._endpoints = endpoints
        self._templates = templates
        self._accounts = accounts
        self._admin = admin
        self._people = people
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            admin(
                "POST",
                ADMIN,
                self.create,
                body=CreateBusiness,
                answers={201: AdminBusinessOut},
                summary="Create a business",
            ),
            admin("GET", ADMIN, self.list, answers={200: AdminBusinessList}, summary="Every business"),
            admin(
                "GET",
                ADMIN + "/{business}",
                self.get,
                answers={200: AdminBusinessOut},
                summary="A business, its accounts and numbers",
            ),
            admin(
                "PATCH",
                ADMIN + "/{business}",
                self.update,
                body=UpdateBusiness,
                answers={200: AdminBusinessOut},
                summary="Change a business's profile or verified flag",
            ),
            admin(
                "POST",
                ADMIN + "/{business}/accounts",
                self.add_account,
                body=CreateBusinessAccount,
                answers={201: BusinessAccountOut},
                summary="Add a business account (a WABA)",
            ),
            admin(
                "POST",
                ADMIN + "/{business}/numbers",
                self.add_number,
                body=CreateNumber,
                answers={201: NumberOut},
                summary="Add a business number to one of its accounts",
            ),
            admin(
                "POST",
                ADMIN + "/{business}/tokens",
                self.create_token,
                body=CreateToken,
                answers={201: TokenOut},
                summary="Create a system-user token (shown once)",
            ),
            admin(
                "GET",
                ADMIN + "/{business}/tokens",
                self.tokens,
                answers={200: TokenList},
                summary="A business's system-user tokens (never the tokens themselves)",
            ),
            admin(
                "DELETE",
                ADMIN + "/{business}/tokens/{token}",
                self.revoke_token,
                answers={204: None},
                summary="Revoke a system-user token",
            ),
            admin(
                "GET",
                ADMIN + "/{business}/templates",
                self.templates,
                answers={200: AdminTemplateList},
                query={"status": Param(str, description="Only templates of this status (e.g. PENDING)")},
                summary="A business's message templates, for review",
            ),
            admin(
                "POST",
                TEMPLATES + "/{template}/approve",
                self.approve_template,
                answers={200: AdminTemplateOut},
                summary="Approve a message template",
            ),
            admin(
                "POST",
                TEMPLATES + "/{template}/reject",
                self.reject_template,
                body=RejectTemplate,
                answers={200: AdminTemplateOut},
                summary="Reject a message template, with one of Meta's reasons",
            ),
            route(
                "GET",
                "/v1/businesses/lookup",
                self.lookup,
                answers={200: PublicBusiness},
                tag=PEOPLE,
                query={"q": Param(str, required=True, description="biz:<name> or a display number")},
                summary="Find a business by address or number",
            ),
            route(
                "GET",
                "/v1/businesses/{business}",
                self.profile,
                answers={200: PublicBusiness},
                tag=PEOPLE,
                summary="A business's public profile",
            ),
            route(
                "GET",
                "/v1/me/business-consents",
                self.consents,
                answers={200: ConsentList},
                tag=PEOPLE,
                summary="The caller's consents to businesses, and their ledger",
            ),
            route(
                "PUT",
                "/v1/me/business-consents/{business}/{scope}",
                self.grant,
                body=SetConsent,
                answers={200: ConsentOut},
                tag=PEOPLE,
                summary="Opt in to a business's messages",
            ),
            route(
                "DELETE",
                "/v1/me/business-consents/{business}/{scope}",
                self.revoke,
                answers={200: ConsentOut},
                tag=PEOPLE,
                query={"source": Param(str, description="Where the stop came from (default sdk)")},
                summary="Opt out of (stop) a business's messages",
            ),
        ]

    def _operator(self, request: Request) -> None:
        require_operator(request, self._admin_token, api="admin")

    async def _admin_view(self, business: BusinessRecord) -> AdminBusinessOut:
        accounts = await self._admin.accounts(business.id)
        numbers = await self._admin.numbers(business.id)
        return admin_out(business, accounts, numbers)

    # -- the operator ------------------------------------------------------------------------------

    @endpoint
    async def create(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, CreateBusiness)
        profile = BusinessProfile(
            name=body.name,
            about=body.about,
            description=body.description,
            logo_url=body.logo_url,
            website=body.website,
            email=body.email,
            category=body.category,
        )
        made = await self._admin.create(body.slug, profile, verified=body.verified)
        return json_response(await self._admin_view(made), status=201)

    @endpoint
    async def list(self, request: Request) -> Response:
        self._operator(request)
        found = [await self._admin_view(b) for b in await self._admin.all()]
        return json_response(AdminBusinessList(businesses=found))

    @endpoint
    async def get(self, request: Request) -> Response:
        self._operator(request)
        return json_response(await self._admin_view(await self._admin.get(request.path_params["business"])))

    @endpoint
    async def update(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, UpdateBusiness)
        current = await self._admin.get(request.path_params["business"])
        p = current.profile
        profile = BusinessProfile(
            name=p.name if body.name is None else body.name,
            about=p.about if body.about is None else body.about,
            description=p.description if body.description is None else body.description,
            logo_url=p.logo_url if body.logo_url is None else body.logo_url,
            website=p.website if body.website is None else body.website,
            email=p.email if body.email is None else body.email,
            category=p.category if body.category is None else body.category,
        )
        updated = await self._admin.update(current.id, profile=profile, verified=body.verified)
        return json_response(await self._admin_view(updated))

    @endpoint
    async def add_account(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, CreateBusinessAccount)
        made = await self._admin.add_account(request.path_params["business"], body.name)
        return json_response(account_out(made), status=201)

    @endpoint
    async def add_number(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, CreateNumber)
        made = await self._admin.add_number(
            request.path_params["business"], body.waba_id, body.display_number
        )
        return json_response(number_out(made), status=201)

    @endpoint
    async def create_token(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, CreateToken)
        made = await self._admin.create_token(request.path_params["business"], body.label)
        return json_response(token_out(made.record, made.token), status=201)

    @endpoint
    async def tokens(self, request: Request) -> Response:
        self._operator(request)
        found = await self._admin.tokens(request.path_params["business"])
        return json_response(TokenList(tokens=[token_out(t) for t in found]))

    @endpoint
    async def revoke_token(self, request: Request) -> Response:
        self._operator(request)
        await self._admin.revoke_token(request.path_params["business"], request.path_params["token"])
        return Response(status_code=204)

    @endpoint
    async def templates(self, request: Request) -> Response:
        self._operator(request)
        owner = await self._admin.get(request.path_params["business"])
        found = await self._templates.of_business(owner.id, status=request.query_params.get("status"))
        return json_response(AdminTemplateList(templates=[template_admin_out(t) for t in found]))

    @endpoint
    async def approve_template(self, request: Request) -> Response:
        self._operator(request)
        approved = await self._templates.approve(request.path_params["template"])
        return json_response(template_admin_out(approved))

    @endpoint
    async def reject_template(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, RejectTemplate)
        rejected = await self._templates.reject(request.path_params["template"], body.reason)
        return json_response(template_admin_out(rejected))

    # -- people ------------------------------------------------------------------------------------

    @endpoint
    async def lookup(self, request: Request) -> Response:
        await request_caller(request, self._accounts)
        query = request.query_params.get("q")
        if query is None:
            raise InvalidInput("q: a business's address (biz:name) or number")
        return await self._public(await self._people.find(query))

    @endpoint
    async def profile(self, request: Request) -> Response:
        await request_caller(request, self._accounts)
        return await self._public(await self._people.get(request.path_params["business"]))

    async def _public(self, found: FoundBusiness) -> Response:
        return json_response(public_out(found, await self._endpoints.of(found.business.id)))

    @endpoint
    async def consents(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        current = await self._people.consents(caller.account)
        ledger = await self._people.ledger(caller.account)
        return json_response(
            ConsentList(consents=[consent_out(c) for c in current], ledger=[consent_out(c) for c in ledger])
        )

    @endpoint
    async def grant(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        body = await read_body(request, SetConsent)
        change = await self._people.set_consent(
            caller.account,
            request.path_params["business"],
            request.path_params["scope"],
            granted=True,
            source=body.source,
        )
        return json_response(consent_out(change))

    @endpoint
    async def revoke(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        change = await self._people.set_consent(
            caller.account,
            request.path_params["business"],
            request.path_params["scope"],
            granted=False,
            source=request.query_params.get("source", "sdk"),
        )
        return json_response(consent_out(change))
