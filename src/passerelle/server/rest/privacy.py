"""REST endpoints of privacy and safety (docs/protocol.md section 9): contacts, message requests,
blocks, privacy settings, reports, the operator's moderation API, export and erasure.

The moderation API authenticates the operator with ``admin_token`` from the settings, compared in
constant time; it is never logged (the access log records route templates only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId, MessageId, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom
from passerelle.proto.openapi import Auth, Param
from passerelle.proto.rest import privacy as wire
from passerelle.server.auth import request_caller, require_operator
from passerelle.server.declared import query_value, route
from passerelle.server.rest.io import client_key, endpoint, json_response, read_body
from passerelle.server.rest.privacy_shapes import (
    choices_json,
    export_json,
    relation_json,
    report_json,
    request_json,
)
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.ports import Clock
from passerelle.service.privacy.privacy import PrivacyService
from passerelle.service.privacy.records import ReportedMessage
from passerelle.service.records import AccountRecord

ListChange = Callable[[AccountRecord, str], Awaitable[None]]
"""Adding to or removing from the caller's contacts or blocks."""

TAG = "Privacy"
RequestState = Literal["request", "declined"]
ReportLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _ListChangeRoute:
    """``PUT`` / ``DELETE /v1/contacts/{account_id}`` and ``/v1/blocks/{account_id}`` (204)."""

    def __init__(self, caller: Callable[[Request], Awaitable[AccountRecord]], change: ListChange) -> None:
        self._caller = caller
        self._change = change

    @endpoint
    async def handle(self, request: Request) -> Response:
        await self._change(await self._caller(request), request.path_params["account_id"])
        return Response(status_code=204)


class PrivacyRoutes:
    def __init__(
        self, *, accounts: AccountService, privacy: PrivacyService, clock: Clock, admin_token: str
    ) -> None:
        self._accounts = accounts
        self._privacy = privacy
        self._clock = clock
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "GET",
                "/v1/contacts",
                self.list_contacts,
                answers={200: wire.Contacts},
                tag=TAG,
                summary="The caller's contacts",
            ),
            route(
                "PUT",
                "/v1/contacts/{account_id}",
                self._change(self._privacy.add_contact),
                answers={204: None},
                tag=TAG,
                summary="Add a contact",
            ),
            route(
                "DELETE",
                "/v1/contacts/{account_id}",
                self._change(self._privacy.remove_contact),
                answers={204: None},
                tag=TAG,
                summary="Remove a contact",
            ),
            route(
                "GET",
                "/v1/requests",
                self.list_requests,
                answers={200: wire.MessageRequests},
                tag=TAG,
                query={"state": Param(RequestState, description="Pending requests (default) or declined")},
                summary="Message requests: conversations the caller has not accepted",
            ),
            route(
                "POST",
                "/v1/conversations/{conv}/accept",
                self.accept,
                answers={200: wire.ConversationState},
                tag=TAG,
                summary="Accept a message request",
            ),
            route(
                "POST",
                "/v1/conversations/{conv}/decline",
                self.decline,
                body=wire.Decline,
                body_required=False,
                answers={200: wire.ConversationState},
                tag=TAG,
                summary="Decline a message request (and perhaps block its sender)",
            ),
            route(
                "GET",
                "/v1/blocks",
                self.list_blocks,
                answers={200: wire.Blocks},
                tag=TAG,
                summary="The people the caller blocked",
            ),
            route(
                "PUT",
                "/v1/blocks/{account_id}",
                self._change(self._privacy.block),
                answers={204: None},
                tag=TAG,
                summary="Block a person",
            ),
            route(
                "DELETE",
                "/v1/blocks/{account_id}",
                self._change(self._privacy.unblock),
                answers={204: None},
                tag=TAG,
                summary="Unblock a person",
            ),
            route(
                "GET",
                "/v1/me/privacy",
                self.get_settings,
                answers={200: wire.PrivacyChoices},
                tag=TAG,
                summary="The caller's privacy choices",
            ),
            route(
                "PATCH",
                "/v1/me/privacy",
                self.update_settings,
                body=wire.PrivacyChange,
                answers={200: wire.PrivacyChoices},
                tag=TAG,
                summary="Change the caller's privacy choices",
            ),
            route(
                "POST",
                "/v1/reports",
                self.report,
                body=wire.ReportRequest,
                answers={201: wire.Reported},
                tag=TAG,
                summary="Report a person (with the messages the reporter chooses to share)",
            ),
            route(
                "GET",
                "/v1/me/export",
                self.export,
                answers={200: wire.Export},
                tag=TAG,
                summary="Everything the server holds about the caller",
            ),
            route(
                "DELETE",
                "/v1/me",
                self.erase,
                body=wire.Erase,
                answers={204: None},
                tag=TAG,
                summary="Erase the caller's account (password or code again)",
            ),
            route(
                "GET",
                "/v1/admin/reports",
                self.admin_reports,
                answers={200: wire.Reports},
                auth=Auth.ADMIN,
                tag="Admin: moderation",
                query={
                    "limit": Param(ReportLimit, description="At most this many reports"),
                    "before": Param(Millis, description="Only reports made before (ms)"),
                },
                summary="The reports people made, newest first",
            ),
        ]

    def _change(self, change: ListChange) -> Callable[[Request], Awaitable[Response]]:
        return _ListChangeRoute(self._caller, change).handle

    async def _caller(self, request: Request) -> AccountRecord:
        return (await request_caller(request, self._accounts)).record

    # --- contacts and blocks -------------------------------------------------------------------------

    @endpoint
    async def list_contacts(self, request: Request) -> Response:
        contacts = await self._privacy.contacts(await self._caller(request))
        return json_response(wire.Contacts(contacts=[relation_json(r) for r in contacts]))

    @endpoint
    async def list_blocks(self, request: Request) -> Response:
        blocks = await self._privacy.blocks(await self._caller(request))
        return json_response(wire.Blocks(blocks=[relation_json(r) for r in blocks]))

    # --- message requests ----------------------------------------------------------------------------

    @endpoint
    async def list_requests(self, request: Request) -> Response:
        caller = await self._caller(request)
        raw = request.query_params.get("state", MemberState.REQUEST.value)
        if raw not in (MemberState.REQUEST.value, MemberState.DECLINED.value):
            raise InvalidInput("state: 'request' or 'declined'")
        found = await self._privacy.requests(caller, MemberState(raw))
        return json_response(wire.MessageRequests(requests=[request_json(r) for r in found]))

    @endpoint
    async def accept(self, request: Request) -> Response:
        caller = await self._caller(request)
        conv = await self._privacy.accept(caller, request.path_params["conv"])
        return json_response(wire.ConversationState(conv=conv.id, state=MemberState.ACCEPTED.value))

    @endpoint
    async def decline(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.Decline) if await request.body() else wire.Decline()
        conv = request.path_params["conv"]
        await self._privacy.decline(caller, conv, block=body.block)
        return json_response(
            wire.ConversationState(conv=conv, state=MemberState.DECLINED.value, blocked=body.block)
        )

    # --- settings ------------------------------------------------------------------------------------

    @endpoint
    async def get_settings(self, request: Request) -> Response:
        return json_response(
            choices_json(await self._privacy.settings(await request_caller(request, self._accounts)))
        )

    @endpoint
    async def update_settings(self, request: Request) -> Response:
        token = await request_caller(request, self._accounts)
        body = await read_body(request, wire.PrivacyChange)
        choices = await self._privacy.update_settings(
            token,
            findability=None if body.findability is None else Findability(body.findability),
            read_receipts=body.read_receipts,
            message_from=None if body.message_from is None else MessageFrom(body.message_from),
            last_seen=None if body.last_seen is None else LastSeenVisibility(body.last_seen),
        )
        return json_response(choices_json(choices))

    # --- reports and moderation ----------------------------------------------------------------------

    @endpoint
    async def report(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.ReportRequest)
        record = await self._privacy.report(
            caller,
            reported=body.account_id,
            conv=body.conv,
            reason=body.reason,
            messages=[
                ReportedMessage(
                    mid=None if m.mid is None else MessageId(m.mid),
                    client_id=m.id,
                    sender=AccountId(m.sender),
                    ts=Timestamp(m.ts),
                    text=m.text,
                )
                for m in body.messages
            ],
            block=body.block,
        )
        return json_response(wire.Reported(report_id=record.id), status=201)

    @endpoint
    async def admin_reports(self, request: Request) -> Response:
        require_operator(request, self._admin_token, api="moderation")
        limit: int | None = query_value(request, "limit")
        before: int | None = query_value(request, "before")
        reports = await self._privacy.reports(
            limit=100 if limit is None else limit, before=None if before is None else Timestamp(before)
        )
        return json_response(wire.Reports(reports=[report_json(r) for r in reports]))

    # --- export and erasure --------------------------------------------------------------------------

    @endpoint
    async def export(self, request: Request) -> Response:
        caller = await self._caller(request)
        data = await self._privacy.export(caller)
        return json_response(export_json(data, exported_at=self._clock.now_ms()))

    @endpoint
    async def erase(self, request: Request) -> Response:
        token = await request_caller(request, self._accounts)
        body = await read_body(request, wire.Erase)
        await self._privacy.erase(token, password=body.password, code=body.code, client=client_key(request))
        return Response(status_code=204)
