"""The Graph-style Business API the server answers itself (docs/business.md section 6): paths whose
first segment is an object id (digits), optionally after a ``/v<major>.<minor>`` prefix whose value is
ignored, with ``Authorization: Bearer <system-user token>``. Answers and errors are the Cloud API's
(``proto.cloud``): every error is the Graph envelope, never the Passerelle one.

``GraphPaths`` is plain ASGI middleware: it claims only such paths (``/v26.0/106540352242922``,
``/106540352242922/whatsapp_business_profile``) and leaves every other path to the app, so no
Passerelle route can collide with a Graph one.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from passerelle.domain.business.errors import ERRORS, CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import DomainError, Unavailable
from passerelle.proto.cloud.checks import normalize_wa_id
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import MessageRequest
from passerelle.proto.cloud.responses import (
    BlockedEntry,
    BlockedList,
    BlockedUser,
    BlockUsersRequest,
    BlockUsersResponse,
    BlockUsersResult,
    BusinessProfile,
    BusinessProfiles,
    ErrorData,
    ErrorEnvelope,
    FailedUser,
    GraphError,
    PhoneNumber,
    SendResponse,
    Success,
)
from passerelle.proto.openapi import Auth
from passerelle.server.declared import check_auth, check_body, graph_route
from passerelle.service.business.cloud import (
    BlockOutcome,
    BlockUsers,
    CloudControl,
    NumberView,
    ProfileChange,
    UserRef,
)
from passerelle.service.business.records import SystemTokenRecord

log = logging.getLogger("passerelle.server.graph")

GRAPH_PATH = re.compile(r"^(?:/v\d{1,3}\.\d{1,3})?(/\d{1,32}(?:/.*)?)$")
"""An optional version prefix, then an object id: the rest is what the Graph routes see."""
STATUS_OF: dict[int, int] = {190: 401, 130429: 429, 131056: 429, 131064: 429}
"""HTTP statuses of Graph codes (400 otherwise; 500 for our own failures)."""
JSON = "application/json"

StructT = TypeVar("StructT", bound=msgspec.Struct)
Handler = Callable[[Request], Awaitable[Response]]


def graph_error(
    code: int,
    message: str,
    details: str,
    *,
    kind: str = "OAuthException",
    subcode: int | None = None,
    status: int = 400,
) -> Response:
    body = ErrorEnvelope(
        error=GraphError(
            message=message,
            type=kind,
            code=code,
            error_subcode=subcode,
            error_data=ErrorData(details=details),
            fbtrace_id=secrets.token_urlsafe(12),
        )
    )
    return Response(encode(body), status_code=status, media_type=JSON)


def error_of(exc: Exception) -> Response:
    if isinstance(exc, CloudApiError):
        spec = exc.spec
        return graph_error(
            spec.code,
            exc.message,
            exc.details,
            kind=spec.type,
            subcode=spec.subcode,
            status=STATUS_OF.get(spec.code, 400),
        )
    if isinstance(exc, CloudBodyError):
        return error_of(CloudApiError(Failure.INVALID_PARAMETER, exc.problem, field=exc.field or "body"))
    if isinstance(exc, Unavailable):
        return graph_error(2, "(#2) Service temporarily unavailable", exc.message, status=503)
    if isinstance(exc, DomainError):
        spec = ERRORS[Failure.INVALID_PARAMETER]
        return graph_error(spec.code, f"(#{spec.code}) {exc.message}", exc.message)
    return graph_error(1, "(#1) An unknown error occurred", "An unknown error occurred", status=500)


def graph_endpoint(
    handler: Callable[[GraphRoutes, Request], Awaitable[Response]],
) -> Callable[[GraphRoutes, Request], Awaitable[Response]]:
    """Every error of a Graph handler becomes the Graph envelope (the request is the boundary)."""

    async def wrapped(self: GraphRoutes, request: Request) -> Response:
        try:
            return await handler(self, request)
        except (DomainError, CloudBodyError) as exc:
            return error_of(exc)
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.url.path)
            return error_of(exc)

    wrapped.__name__ = wrapped.__qualname__ = handler.__name__
    return wrapped


def phone_number_out(view: NumberView) -> PhoneNumber:
    return PhoneNumber(
        id=view.number.id,
        display_phone_number=f"+{view.number.display_number}",
        verified_name=view.business.profile.name,
        quality_rating=view.number.quality.value,
        messaging_limit_tier=view.tier.wire,
    )


def profile_out(view: NumberView) -> BusinessProfile:
    p = view.business.profile
    return BusinessProfile(
        about=p.about,
        description=p.description,
        email=p.email,
        profile_picture_url=p.logo_url or None,
        websites=[p.website] if p.website else [],
        vertical=p.category or None,
        messaging_product="whatsapp",
    )


def user_refs(body: BlockUsersRequest) -> list[UserRef]:
    if body.messaging_product != "whatsapp":
        raise CloudBodyError("messaging_product", "must be 'whatsapp'")
    if not body.block_users:
        raise CloudBodyError("block_users", "needs 1 to 1000 users")
    refs = []
    for i, user in enumerate(body.block_users):
        if user.user_id is not None:
            refs.append(UserRef(input=user.user_id, user_id=user.user_id))
        elif user.user is not None and (digits := normalize_wa_id(user.user)) is not None:
            refs.append(UserRef(input=user.user, wa_id=digits))
        else:
            raise CloudBodyError(f"block_users[{i}].user", "must be a wa_id (or give user_id)")
    return refs


def block_answer(outcome: BlockOutcome, *, removed: bool) -> BlockUsersResponse:
    done = [BlockedUser(input=ref.input, wa_id=p.wa_id, user_id=p.user_id) for ref, p in outcome.done]
    failed = [
        FailedUser(
            input=ref.input,
            errors=[
                GraphError(
                    message=exc.message,
                    type=exc.spec.type,
                    code=exc.spec.code,
                    error_data=ErrorData(details=exc.details),
                    fbtrace_id=secrets.token_urlsafe(12),
                )
            ],
        )
        for ref, exc in outcome.failed
    ]
    result = (
        BlockUsersResult(removed_users=done, failed_users=failed)
        if removed
        else BlockUsersResult(added_users=done, failed_users=failed)
    )
    return BlockUsersResponse(block_users=result)


class HostedSends(Protocol):
    """The business endpoints this node hosts (``server.endpoint.hosted``)."""

    def get(self, business: BusinessId) -> HostedEndpoint: ...


class HostedEndpoint(Protocol):
    async def messages(self, number: str, body: bytes) -> bytes: ...


async def read_cloud(request: Request, kind: type[StructT]) -> StructT:
    """The body decoded as the Cloud API does (unknown members and nulls accepted), into the Struct
    the route declares."""
    check_body(request, kind)
    return decode(await request.body(), kind)


class GraphRoutes:
    def __init__(self, cloud: CloudControl, blocks: BlockUsers, hosted: HostedSends | None = None) -> None:
        self._cloud = cloud
        self._blocks = blocks
        self._hosted = hosted

    def app(self) -> Starlette:
        """The Graph routes, as an app of their own, behind ``GraphPaths``."""

        async def not_found(request: Request, exc: Exception) -> Response:
            if isinstance(exc, HTTPException) and exc.status_code == 405:
                return graph_error(
                    100, "(#100) Unsupported method", f"{request.method} is not supported here"
                )
            return graph_error(
                100,
                "(#100) Unsupported request",
                "Unknown path components: this edge does not exist or is not supported by this server.",
                subcode=33,
                kind="GraphMethodException",
            )

        return Starlette(routes=self.routes(), exception_handlers={HTTPException: not_found})

    def routes(self) -> list[BaseRoute]:
        """The Graph routes and their declarations (paths without the version prefix)."""
        return [
            graph_route(
                "GET",
                "/{phone_number_id}",
                self.get_object,
                answers={200: PhoneNumber},
                summary="A business number: display number, quality rating, messaging limit",
            ),
            graph_route(
                "POST",
                "/{phone_number_id}/messages",
                self.messages,
                body=MessageRequest,
                answers={200: SendResponse},
                summary="Send a message (to a business whose endpoint this server hosts)",
                description="The hosted endpoint decodes, checks and encrypts the body; a self-run "
                "business's bot sends to its own endpoint (docs/business.md section 4).",
            ),
            graph_route(
                "GET",
                "/{phone_number_id}/whatsapp_business_profile",
                self.get_profile,
                answers={200: BusinessProfiles},
                summary="The business profile of a number",
            ),
            graph_route(
                "POST",
                "/{phone_number_id}/whatsapp_business_profile",
                self.update_profile,
                body=BusinessProfile,
                answers={200: Success},
                summary="Change the business profile",
            ),
            graph_route(
                "GET",
                "/{phone_number_id}/block_users",
                self.blocked,
                answers={200: BlockedList},
                summary="The people the business blocked",
            ),
            graph_route(
                "POST",
                "/{phone_number_id}/block_users",
                self.block,
                body=BlockUsersRequest,
                answers={200: BlockUsersResponse},
                summary="Block people",
            ),
            graph_route(
                "DELETE",
                "/{phone_number_id}/block_users",
                self.unblock,
                body=BlockUsersRequest,
                answers={200: BlockUsersResponse},
                summary="Unblock people",
            ),
        ]

    async def _caller(self, request: Request) -> SystemTokenRecord:
        check_auth(request, Auth.SYSTEM_USER)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = request.query_params.get("access_token", "")
        return await self._cloud.authenticate(token.strip())

    @graph_endpoint
    async def get_object(self, request: Request) -> Response:
        caller = await self._caller(request)
        view = await self._cloud.number(caller, request.path_params["phone_number_id"])
        return Response(encode(phone_number_out(view)), media_type=JSON)

    @graph_endpoint
    async def messages(self, request: Request) -> Response:
        """A bot's send to a business with a hosted endpoint: the endpoint encrypts it (a self-run
        business's bot sends through its own endpoint)."""
        caller = await self._caller(request)
        view = await self._cloud.number(caller, request.path_params["phone_number_id"])
        if self._hosted is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "This server hosts no business endpoints.")
        endpoint = self._hosted.get(view.business.id)
        body = await endpoint.messages(view.number.id, await request.body())
        return Response(body, media_type=JSON)

    @graph_endpoint
    async def get_profile(self, request: Request) -> Response:
        caller = await self._caller(request)
        view = await self._cloud.number(caller, request.path_params["phone_number_id"])
        return Response(encode(BusinessProfiles(data=[profile_out(view)])), media_type=JSON)

    @graph_endpoint
    async def update_profile(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_cloud(request, BusinessProfile)
        if body.messaging_product not in (None, "whatsapp"):
            raise CloudBodyError("messaging_product", "must be 'whatsapp'")
        change = ProfileChange(
            about=body.about,
            description=body.description,
            email=body.email,
            profile_picture_url=body.profile_picture_url,
            websites=body.websites,
            vertical=body.vertical,
        )
        await self._cloud.update_profile(caller, request.path_params["phone_number_id"], change)
        return Response(encode(Success()), media_type=JSON)

    @graph_endpoint
    async def blocked(self, request: Request) -> Response:
        caller = await self._caller(request)
        people = await self._blocks.blocked(caller, request.path_params["phone_number_id"])
        answer = BlockedList(data=[BlockedEntry(wa_id=p.wa_id, user_id=p.user_id) for p in people])
        return Response(encode(answer), media_type=JSON)

    @graph_endpoint
    async def block(self, request: Request) -> Response:
        caller = await self._caller(request)
        refs = user_refs(await read_cloud(request, BlockUsersRequest))
        outcome = await self._blocks.block(caller, request.path_params["phone_number_id"], refs)
        return Response(encode(block_answer(outcome, removed=False)), media_type=JSON)

    @graph_endpoint
    async def unblock(self, request: Request) -> Response:
        caller = await self._caller(request)
        refs = user_refs(await read_cloud(request, BlockUsersRequest))
        outcome = await self._blocks.unblock(caller, request.path_params["phone_number_id"], refs)
        return Response(encode(block_answer(outcome, removed=True)), media_type=JSON)


class GraphPaths:
    """ASGI middleware: Graph-style paths go to ``graph`` (without their version prefix); every other
    request goes on to the app."""

    def __init__(self, app: ASGIApp, *, graph: ASGIApp) -> None:
        self._app = app
        self._graph = graph

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = GRAPH_PATH.match(scope["path"])
            if match is not None:
                inner = dict(scope)
                inner["path"] = match[1]
                inner["raw_path"] = match[1].encode()
                await self._graph(inner, receive, send)
                return
        await self._app(scope, receive, send)
