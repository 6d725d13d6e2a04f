"""The Graph-style Business API the server answers itself (docs/business.md section 6): paths whose
first segment is an object id (digits), optionally after a ``/v<major>.<minor>`` prefix whose value is
ignored, with ``Authorization: Bearer <system-user token>``. Answers and errors are the Cloud API's
(``proto.cloud``): every error is the Graph envelope, never the Passerelle one.

``GraphPaths`` is plain ASGI middleware: it claims only such paths (``/v26.0/106540352242922``,
``/106540352242922/whatsapp_business_profile``) and leaves every other path to the app, so no
Passerelle route can collide with a Graph one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import BinaryIO, Protocol, TypeVar

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
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import MessageRequest
from passerelle.proto.cloud.responses import (
    BlockedEntry,
    BlockedList,
    BlockUsersRequest,
    BlockUsersResponse,
    BusinessProfile,
    BusinessProfiles,
    Cursors,
    ErrorData,
    ErrorEnvelope,
    GraphError,
    MediaUploaded,
    Paging,
    PhoneNumber,
    SendResponse,
    Success,
)
from passerelle.proto.cloud.templates import (
    CreateTemplate,
    TemplateCreated,
    TemplateList,
)
from passerelle.proto.openapi import Auth, Param, Raw
from passerelle.server.declared import check_auth, check_body, graph_route
from passerelle.server.endpoint.media import MediaShelf
from passerelle.server.endpoint.media_http import FILE_EDGE, download, download_url, read_upload
from passerelle.server.graph_shapes import (
    after_of,
    block_answer,
    cursor_of,
    fields_of,
    limit_of,
    phone_number_out,
    profile_out,
    template_out,
    user_refs,
)
from passerelle.service.business.cloud import (
    BlockUsers,
    CloudControl,
    ProfileChange,
)
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.business.templates import Templates

log = logging.getLogger("passerelle.server.graph")

GRAPH_PATH = re.compile(r"^(?:/v\d{1,3}\.\d{1,3})?(/\d{1,32}(?:/.*)?|/oauth/access_token)$")
"""An optional version prefix, then an object id (or the app-token path): the rest is what the Graph
routes see, without a trailing slash (``POST /{phone_number_id}/``, as pywa writes it, is
``POST /{phone_number_id}``)."""
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


def too_large(message: str) -> Response:
    """A Graph request whose body is over the server's limit (413, in the Graph envelope)."""
    return graph_error(100, "(#100) Request body too large", message, status=413)


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
        return await _answer(lambda r: handler(self, r), request)

    wrapped.__name__ = wrapped.__qualname__ = handler.__name__
    return wrapped


def graph_endpoint_of(handler: Handler) -> Handler:
    """``graph_endpoint`` for a bound handler (the routes of another module)."""

    async def wrapped(request: Request) -> Response:
        return await _answer(handler, request)

    wrapped.__name__ = wrapped.__qualname__ = handler.__name__
    return wrapped


async def _answer(handler: Handler, request: Request) -> Response:
    try:
        return await handler(request)
    except (DomainError, CloudBodyError) as exc:
        return error_of(exc)
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_of(exc)


class HostedSends(Protocol):
    """The business endpoints this node hosts (``server.endpoint.hosted``)."""

    def get(self, business: BusinessId) -> HostedEndpoint: ...


class HostedEndpoint(Protocol):
    media: MediaShelf
    media_slots: asyncio.Semaphore

    async def messages(self, number: str, body: bytes) -> bytes: ...

    async def upload(
        self,
        *,
        messaging_product: str | None,
        mime: str | None,
        file: BinaryIO | None,
        size: int,
        filename: str | None,
        ttl_minutes: str | None = None,
    ) -> bytes: ...

    def media_info(self, media_id: str, download_url: str) -> bytes: ...

    async def delete_media(self, media_id: str) -> bytes: ...


async def read_cloud(request: Request, kind: type[StructT]) -> StructT:
    """The body decoded as the Cloud API does (unknown members and nulls accepted), into the Struct
    the route declares."""
    check_body(request, kind)
    return decode(await request.body(), kind)


class GraphRoutes:
    def __init__(
        self,
        cloud: CloudControl,
        blocks: BlockUsers,
        hosted: HostedSends | None = None,
        templates: Templates | None = None,
        extra: Sequence[BaseRoute] = (),
    ) -> None:
        self._extra = list(extra)
        """More Graph routes (commerce, ``server.graph_commerce``), served with these."""
        self._cloud = cloud
        self._blocks = blocks
        self._hosted = hosted
        self._templates_service = templates

    @property
    def _templates(self) -> Templates:
        if self._templates_service is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "This server does not serve message templates.")
        return self._templates_service

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
                description="A message template's id answers the template instead (a TemplateEntry, as "
                "in the list of /{waba_id}/message_templates); for a business whose endpoint this "
                "server hosts, a media id answers the media's download URL (a MediaUrl; "
                "docs/business.md section 6, Media).",
            ),
            graph_route(
                "DELETE",
                "/{media_id}",
                self.delete_object,
                answers={200: Success},
                summary="Delete a media (of a business whose endpoint this server hosts)",
            ),
            graph_route(
                "POST",
                "/{phone_number_id}/media",
                self.upload,
                body=Raw(
                    media_type="multipart/form-data",
                    description="`file` (the file), `messaging_product` (`whatsapp`), `type` (its MIME "
                    "type) and optionally `ttl_minutes`, as the Cloud API takes them",
                ),
                answers={200: MediaUploaded},
                summary="Upload a media (to a business whose endpoint this server hosts)",
                description="The hosted endpoint encrypts and keeps it; the answer's id is sent by "
                "`id` in an image, video, audio, document or sticker message.",
            ),
            graph_route(
                "GET",
                "/{media_id}/" + FILE_EDGE,
                self.file,
                answers={200: Raw(description="The media's bytes, with its Content-Type")},
                summary="Download a media (the URL GET /{media_id} gives)",
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
            graph_route(
                "POST",
                "/{waba_id}/message_templates",
                self.create_template,
                body=CreateTemplate,
                answers={200: TemplateCreated},
                summary="Create a message template (PENDING until the operator approves it)",
            ),
            graph_route(
                "GET",
                "/{waba_id}/message_templates",
                self.list_templates,
                answers={200: TemplateList},
                query={
                    "fields": Param(str, description="Comma-separated members to answer (id always)"),
                    "limit": Param(str, description="Templates per page (default 25)"),
                    "after": Param(str, description="The cursor of the page before"),
                    "name": Param(str, description="Only templates of this name"),
                    "status": Param(str, description="Only templates of this status"),
                },
                summary="The business account's message templates, a page at a time",
            ),
            graph_route(
                "DELETE",
                "/{waba_id}/message_templates",
                self.delete_templates,
                answers={200: Success},
                query={
                    "name": Param(str, required=True, description="The template's name (every language)"),
                    "hsm_id": Param(str, description="Only the template with this id"),
                },
                summary="Delete a message template",
            ),
            *self._extra,
        ]

    async def _caller(self, request: Request) -> SystemTokenRecord:
        check_auth(request, Auth.SYSTEM_USER)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = request.query_params.get("access_token", "")
        return await self._cloud.authenticate(token.strip())

    @graph_endpoint
    async def get_object(self, request: Request) -> Response:
        """A phone number, a media of the caller's hosted endpoint, or else a template, of the
        caller's business."""
        caller = await self._caller(request)
        object_id = request.path_params["phone_number_id"]
        media = self._hosted_media(caller, object_id)
        if media is not None:
            return Response(media.media_info(object_id, download_url(request, object_id)), media_type=JSON)
        try:
            view = await self._cloud.number(caller, object_id)
        except CloudApiError as exc:
            if exc.failure is not Failure.UNKNOWN_OBJECT:
                raise
            template = await self._templates.find(caller.business, object_id)
            if template is None:
                raise
            return Response(encode(template_out(template, fields_of(request))), media_type=JSON)
        return Response(encode(phone_number_out(view)), media_type=JSON)

    def _hosted_media(self, caller: SystemTokenRecord, media_id: str) -> HostedEndpoint | None:
        """The caller's hosted endpoint when it holds this media (a media of another business is
        never found: each endpoint holds only its own)."""
        if self._hosted is None:
            return None
        try:
            endpoint = self._hosted.get(caller.business)
        except CloudApiError:
            return None
        return endpoint if endpoint.media.has(media_id) else None

    def _own_media(self, caller: SystemTokenRecord, media_id: str) -> HostedEndpoint:
        found = self._hosted_media(caller, media_id)
        if found is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, f"Unknown media id {media_id[:32]!r}.")
        return found

    @graph_endpoint
    async def delete_object(self, request: Request) -> Response:
        caller = await self._caller(request)
        media_id = request.path_params["media_id"]
        return Response(await self._own_media(caller, media_id).delete_media(media_id), media_type=JSON)

    @graph_endpoint
    async def file(self, request: Request) -> Response:
        caller = await self._caller(request)
        media_id = request.path_params["media_id"]
        return await download(self._own_media(caller, media_id).media, media_id)

    @graph_endpoint
    async def upload(self, request: Request) -> Response:
        """A bot's upload to a business with a hosted endpoint, which encrypts and keeps it."""
        caller = await self._caller(request)
        view = await self._cloud.number(caller, request.path_params["phone_number_id"])
        if self._hosted is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "This server hosts no business endpoints.")
        endpoint = self._hosted.get(view.business.id)
        async with endpoint.media_slots:
            form, upload = await read_upload(request)
            try:
                body = await endpoint.upload(
                    messaging_product=form.messaging_product,
                    mime=form.mime,
                    file=form.file,
                    size=form.size,
                    filename=form.filename,
                    ttl_minutes=form.ttl_minutes,
                )
            finally:
                if upload is not None:
                    await upload.close()
        return Response(body, media_type=JSON)

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
    async def create_template(self, request: Request) -> Response:
        caller = await self._caller(request)
        raw = await request.body()
        body = decode(raw, CreateTemplate)  # types, lengths and counts of what is declared
        try:
            components = msgspec.json.decode(raw).get("components")  # kept as sent, unknown members too
        except RecursionError:
            raise CloudBodyError("", "the body is nested too deeply") from None
        made = await self._templates.create(
            caller,
            request.path_params["waba_id"],
            name=body.name,
            language=body.language,
            category=body.category,
            parameter_format=body.parameter_format,
            components=components,
        )
        answer = TemplateCreated(id=made.id, status=made.status.value, category=made.category.value)
        return Response(encode(answer), media_type=JSON)

    @graph_endpoint
    async def list_templates(self, request: Request) -> Response:
        caller = await self._caller(request)
        q = request.query_params
        page = await self._templates.list_of(
            caller,
            request.path_params["waba_id"],
            limit=limit_of(request),
            after=after_of(request),
            name=q.get("name"),
            status=q.get("status"),
        )
        fields = fields_of(request)
        paging = Paging()
        if page.templates:
            after = cursor_of(page.templates[-1])
            paging = Paging(
                cursors=Cursors(before=cursor_of(page.templates[0]), after=after),
                next=str(request.url.include_query_params(after=after)) if page.more else None,
            )
        answer = TemplateList(data=[template_out(t, fields) for t in page.templates], paging=paging)
        return Response(encode(answer), media_type=JSON)

    @graph_endpoint
    async def delete_templates(self, request: Request) -> Response:
        caller = await self._caller(request)
        q = request.query_params
        await self._templates.delete(
            caller, request.path_params["waba_id"], name=q.get("name", ""), hsm_id=q.get("hsm_id")
        )
        return Response(encode(Success()), media_type=JSON)

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
        answer = BlockedList(
            data=[BlockedEntry(wa_id=p.wa_id, user_id=p.user_id, input=p.wa_id) for p in people]
        )
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
                path = match[1].rstrip("/") or "/"
                inner = dict(scope)
                inner["path"] = path
                inner["raw_path"] = path.encode()
                await self._graph(inner, receive, send)
                return
        await self._app(scope, receive, send)
